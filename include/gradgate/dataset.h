#pragma once
// Data sets of chest X-rays, read as a stream of samples (paths and labels, never pixels):
// memory does not grow with the number of images. Three formats:
//   manifest  the cxr manifest.csv (image,mask,patient,source,finding,diagnosis,view,split,...)
//   tree      folder per class: root/{train,val,test}/<CLASS>/x.jpeg or root/<CLASS>/x.jpeg
//   csv       plain CSV: path,label[,mask] (header optional)
// A TaskView narrows a data set to one task's sources and labels. No torch here.
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gradgate/task.h"

namespace gradgate {

// Other: a manifest/CSV split of another name (e.g. `external`): such images are classified and
// benchmarked, never trained on (training needs the three; Sample::split_text keeps the name).
enum class Split { Train = 0, Val = 1, Test = 2, Other = 3 };
constexpr std::array<Split, 3> kSplits = {Split::Train, Split::Val, Split::Test};
const char* split_name(Split s);  // "train", "val", "test", "other"
// Accepts train/training, val/valid/validation, test/testing (case-insensitive).
std::optional<Split> parse_split(const std::string& text);

struct Sample {
  std::filesystem::path image;               // absolute
  std::optional<std::filesystem::path> mask;  // absolute; none when the data set has none
  std::string patient;    // no patient is in two splits of a well-made set
  std::string source;     // e.g. kermany, cohen; empty when the data set does not say
  std::string finding;    // the source's own label (folder name, CSV label, manifest finding)
  std::string diagnosis;  // the label a task maps: normal, bacterial, viral, covid, ...
  std::string view;       // PA, AP, ...; empty when unknown
  Split split = Split::Train;
  std::string split_text;  // the data set's own name of a Split::Other split; else empty
  std::string license;    // manifest only; keep in any report that shows the image
  std::string citation;
};

// Streams the samples of a data set in a fixed order.
class SampleReader {
 public:
  virtual ~SampleReader() = default;
  // Fills `out` and returns true, or returns false at the end. Throws DatasetError naming
  // the file and line (or the file) of a malformed entry.
  virtual bool next(Sample& out) = 0;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  // A fresh pass over the data set (each call starts again from the beginning).
  virtual std::unique_ptr<SampleReader> reader() const = 0;
  virtual const char* format() const = 0;  // "manifest", "tree" or "csv"
  const std::filesystem::path& path() const { return path_; }

 protected:
  explicit Dataset(std::filesystem::path path) : path_(std::move(path)) {}

 private:
  std::filesystem::path path_;
};

// Picks the format: a folder holding manifest.csv -> manifest; another folder -> tree;
// a CSV whose header has the manifest's columns -> manifest; any other CSV -> csv.
// Throws DatasetError when the path is missing or the header is unusable.
std::shared_ptr<const Dataset> open_dataset(const std::filesystem::path& path);
std::shared_ptr<const Dataset> open_manifest(const std::filesystem::path& csv_file);
std::shared_ptr<const Dataset> open_tree(const std::filesystem::path& root);
std::shared_ptr<const Dataset> open_plain_csv(const std::filesystem::path& csv_file);

// Files referenced by samples that do not exist.
struct MissingFiles {
  std::size_t checked = 0;   // files looked for (images, plus masks when asked)
  std::size_t missing = 0;   // how many were absent
  std::vector<std::filesystem::path> listed;  // the first `max_listed` absent files
  bool ok() const { return missing == 0; }
  std::string summary() const;  // "3 of 120 files missing: a.png, b.png, c.png"
};

// Every sample of the data set (not only those of a task).
MissingFiles find_missing_files(const Dataset& dataset, std::size_t max_listed = 10,
                                bool include_masks = true);

// Image counts of a task: counts[split][class id], for train, val and test (Split::Other is
// not counted: at() and total() give 0 for it).
struct ClassCounts {
  std::array<std::vector<int64_t>, 3> counts;
  int64_t at(Split split, int class_id) const {
    return split == Split::Other ? 0 : counts[static_cast<int>(split)][class_id];
  }
  int64_t total(Split split) const;
  int64_t total() const;
};

// A batch of a task's samples; the caller loads the images.
struct Batch {
  std::vector<Sample> samples;
  std::vector<int64_t> labels;  // class ids of the task, same order
  std::size_t size() const { return samples.size(); }
  std::vector<std::filesystem::path> paths() const;
};

// The samples of a data set that belong to a task: source in the task's sources (a data
// set that names no source is taken whole) and diagnosis mapped onto one of its classes.
class TaskView {
 public:
  TaskView(std::shared_ptr<const Dataset> dataset, TaskSpec task);

  const TaskSpec& task() const { return task_; }
  const std::vector<std::string>& classes() const { return task_.classes; }
  const Dataset& dataset() const { return *dataset_; }

  // Class id, or nullopt when the sample is not part of the task.
  std::optional<int> label_of(const Sample& sample) const;

  // One pass over the data set.
  ClassCounts counts() const;

  class BatchReader {
   public:
    // Fills `out` with up to batch_size samples of the split; false when none are left.
    bool next(Batch& out);

   private:
    friend class TaskView;
    BatchReader(std::shared_ptr<const Dataset> dataset, TaskSpec task, Split split,
                std::size_t batch_size);
    std::shared_ptr<const Dataset> dataset_;  // shared: the reader may outlive its view
    TaskSpec task_;
    Split split_;
    std::size_t batch_size_;
    std::unique_ptr<SampleReader> reader_;
  };
  // Batches of one split, in the data set's order.
  BatchReader batches(Split split, std::size_t batch_size) const;

  // All (sample, class id) of a split in memory (paths only, no pixels), e.g. to shuffle
  // for training; unlike batches() this grows with the split.
  Batch list(Split split) const;

  // Missing images (and masks) among the task's samples.
  MissingFiles check_files(std::size_t max_listed = 10, bool include_masks = true) const;

 private:
  std::shared_ptr<const Dataset> dataset_;
  TaskSpec task_;
};

}  // namespace gradgate
