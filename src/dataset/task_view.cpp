#include "gradgate/error.h"
#include "gradgate/dataset.h"

namespace gradgate {

namespace fs = std::filesystem;

std::string MissingFiles::summary() const {
  std::string s = std::to_string(missing) + " of " + std::to_string(checked) + " files missing";
  for (std::size_t i = 0; i < listed.size(); ++i) s += (i ? ", " : ": ") + listed[i].string();
  if (listed.size() < missing) s += ", ...";
  return s;
}

namespace {

void check_sample(const Sample& s, std::size_t max_listed, bool include_masks, MissingFiles& m) {
  auto check = [&](const fs::path& p) {
    ++m.checked;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return;
    ++m.missing;
    if (m.listed.size() < max_listed) m.listed.push_back(p);
  };
  check(s.image);
  if (include_masks && s.mask) check(*s.mask);
}

// A data set that does not name sources (a folder tree, a plain CSV) is taken whole.
std::optional<int> label_in_task(const TaskSpec& task, const Sample& sample) {
  if (!sample.source.empty() && !task.uses_source(sample.source)) return std::nullopt;
  return task.label_of(sample.diagnosis);
}

}  // namespace

MissingFiles find_missing_files(const Dataset& dataset, std::size_t max_listed, bool include_masks) {
  MissingFiles m;
  auto reader = dataset.reader();
  Sample s;
  while (reader->next(s)) check_sample(s, max_listed, include_masks, m);
  return m;
}

int64_t ClassCounts::total(Split split) const {
  if (split == Split::Other) return 0;
  int64_t t = 0;
  for (auto c : counts[static_cast<int>(split)]) t += c;
  return t;
}

int64_t ClassCounts::total() const {
  int64_t t = 0;
  for (Split s : kSplits) t += total(s);
  return t;
}

std::vector<fs::path> Batch::paths() const {
  std::vector<fs::path> p;
  p.reserve(samples.size());
  for (const auto& s : samples) p.push_back(s.image);
  return p;
}

TaskView::TaskView(std::shared_ptr<const Dataset> dataset, TaskSpec task)
    : dataset_(std::move(dataset)), task_(std::move(task)) {
  if (!dataset_) throw DatasetError("TaskView: no data set");
  if (task_.classes.empty()) throw DatasetError("TaskView: task '" + task_.name + "' has no classes");
}

std::optional<int> TaskView::label_of(const Sample& sample) const {
  return label_in_task(task_, sample);
}

ClassCounts TaskView::counts() const {
  ClassCounts c;
  for (auto& per_split : c.counts) per_split.assign(task_.classes.size(), 0);
  auto reader = dataset_->reader();
  Sample s;
  while (reader->next(s)) {
    if (s.split == Split::Other) continue;  // counted splits are the three training uses
    if (auto label = label_of(s)) ++c.counts[static_cast<int>(s.split)][*label];
  }
  return c;
}

TaskView::BatchReader::BatchReader(std::shared_ptr<const Dataset> dataset, TaskSpec task,
                                   Split split, std::size_t batch_size)
    : dataset_(std::move(dataset)),
      task_(std::move(task)),
      split_(split),
      batch_size_(batch_size),
      reader_(dataset_->reader()) {
  if (batch_size_ == 0) throw DatasetError("TaskView::batches: batch size must be >= 1");
}

bool TaskView::BatchReader::next(Batch& out) {
  out.samples.clear();
  out.labels.clear();
  Sample s;
  while (out.samples.size() < batch_size_ && reader_->next(s)) {
    if (s.split != split_) continue;
    auto label = label_in_task(task_, s);
    if (!label) continue;
    out.samples.push_back(std::move(s));
    out.labels.push_back(*label);
  }
  return !out.samples.empty();
}

TaskView::BatchReader TaskView::batches(Split split, std::size_t batch_size) const {
  return BatchReader(dataset_, task_, split, batch_size);
}

Batch TaskView::list(Split split) const {
  Batch all;
  auto reader = dataset_->reader();
  Sample s;
  while (reader->next(s)) {
    if (s.split != split) continue;
    if (auto label = label_of(s)) {
      all.samples.push_back(s);
      all.labels.push_back(*label);
    }
  }
  return all;
}

MissingFiles TaskView::check_files(std::size_t max_listed, bool include_masks) const {
  MissingFiles m;
  auto reader = dataset_->reader();
  Sample s;
  while (reader->next(s))
    if (label_of(s)) check_sample(s, max_listed, include_masks, m);
  return m;
}

}  // namespace gradgate
