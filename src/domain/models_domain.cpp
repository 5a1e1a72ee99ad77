// A models folder's domain model: fitted on the task's train split, calibrated on its val
// split, written as <models>/domain.pt with the manifest's `domain:` block (fit_models_domain),
// and judged leave-one-source-out (loso_models_domain). domain.h.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <set>

#include "domain/domain_features.h"
#include "gradgate/common/utc_time.h"
#include "gradgate/config.h"
#include "gradgate/domain.h"
#include "gradgate/error.h"
#include "gradgate/output_dir.h"
#include "gradgate/parallel.h"

namespace gradgate {

namespace fs = std::filesystem;
using namespace domain_detail;

namespace {

constexpr const char* kDomainFile = "domain.pt";

// The rule as the manifest records it (DomainRecord::rule) and docs/outputs.md words it.
// 1st, 2nd, 3rd, 5th, 11th, 21st ...
std::string ordinal(int n) {
  const int t = n % 100, u = n % 10;
  const char* suffix = (t >= 11 && t <= 13) ? "th" : u == 1 ? "st" : u == 2 ? "nd" : u == 3 ? "rd" : "th";
  return std::to_string(n) + suffix;
}

std::string rule_text(double quantile, const std::optional<ImageDomain>& image) {
  char b[600];
  if (image)
    std::snprintf(b, sizeof b,
                  "the larger of: the median over members of (PCA-Mahalanobis score / member threshold), each "
                  "threshold the member's %gth val percentile times the %gth val percentile of that median; and "
                  "the film's look (%dx%d thumbnail shape + intensity statistics, squared distance to the %s "
                  "nearest training film) / its %gth val percentile; both thresholds times the %gth val "
                  "percentile of that larger ratio; flagged when > 1",
                  quantile * 100.0, quantile * 100.0, image->side, image->side, ordinal(image->k).c_str(),
                  quantile * 100.0, quantile * 100.0);
  else
    std::snprintf(b, sizeof b,
                  "median over members of (PCA-Mahalanobis score / member threshold); each threshold is the "
                  "member's %gth val percentile times the %gth val percentile of that median; flagged when > 1",
                  quantile * 100.0, quantile * 100.0);
  return b;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The models folder and its task, checked against each other.
struct Setting {
  ModelsManifest manifest;
  TaskSpec task;
  std::vector<std::string> members;
};

Setting load_setting(const DomainFitRequest& rq) {
  if (rq.models_dir.empty()) throw ConfigError("--models: a models folder is required");
  if (rq.data.empty()) throw ConfigError("--data: a data set is required");
  if (rq.options.max_components < 1) throw ConfigError("--components: expected at least 1");
  if (!(rq.options.quantile > 0.5 && rq.options.quantile < 1))
    throw ConfigError("--quantile: expected a number in (0.5, 1)");
  if (rq.batch < 1) throw ConfigError("--batch: expected at least 1");
  checked_threads(rq.threads, "--threads");
  Setting s;
  s.manifest = load_models_manifest(rq.models_dir);
  const std::string task = rq.task_spec ? rq.task_spec->name : rq.task.empty() ? s.manifest.task : rq.task;
  if (task != s.manifest.task)
    throw ConfigError(s.manifest.file.string() + ": models trained for task '" + s.manifest.task +
                      "', not the requested task '" + task + "'");
  s.task = rq.task_spec ? *rq.task_spec : load_task(task, resolve_config_dir(rq.config_dir)).task;
  if (s.task.classes != s.manifest.classes)
    throw ConfigError(s.manifest.file.string() + ": its classes differ from task " + task + "'s");
  for (const auto& e : s.manifest.members) s.members.push_back(e.name);
  return s;
}

bool excluded(const Sample& s, const std::vector<std::string>& sources) {
  return std::find(sources.begin(), sources.end(), s.source) != sources.end();
}

std::vector<Sample> task_split(const TaskView& view, Split split, const std::vector<std::string>& exclude) {
  Batch listed = view.list(split);
  std::vector<Sample> out;
  for (auto& s : listed.samples)
    if (!excluded(s, exclude)) out.push_back(std::move(s));
  return out;
}

double share_flagged(const std::vector<DomainVerdict>& v) {
  if (v.empty()) return std::nan("");
  std::size_t n = 0;
  for (const auto& x : v) n += x.flagged ? 1 : 0;
  return static_cast<double>(n) / static_cast<double>(v.size());
}

int64_t count_flagged(const std::vector<DomainVerdict>& v) {
  int64_t n = 0;
  for (const auto& x : v) n += x.flagged ? 1 : 0;
  return n;
}

double median_score(const std::vector<DomainVerdict>& v) {
  std::vector<double> s;
  for (const auto& x : v)
    if (std::isfinite(x.score)) s.push_back(x.score);
  if (s.empty()) return std::nan("");
  std::sort(s.begin(), s.end());
  return s.size() % 2 ? s[s.size() / 2] : 0.5 * (s[s.size() / 2 - 1] + s[s.size() / 2]);
}

std::vector<std::size_t> iota_index(std::size_t n) {
  std::vector<std::size_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

std::string excluded_text(const std::vector<std::string>& sources) {
  std::string s;
  for (const auto& x : sources) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "none" : s;
}

}  // namespace

DomainFitSummary fit_models_domain(const DomainFitRequest& rq) {
  const auto t0 = std::chrono::steady_clock::now();
  const Setting st = load_setting(rq);
  // The folder is ours from here: a second fit, or a training into it, fails now.
  std::optional<OutputLock> lock;
  if (rq.lock_folder) lock.emplace(rq.models_dir);
  const TaskView view(open_dataset(rq.data), st.task);
  const std::vector<Sample> train = task_split(view, Split::Train, rq.exclude_sources);
  const std::vector<Sample> val = task_split(view, Split::Val, rq.exclude_sources);
  if (train.size() < 2 || val.empty())
    throw DatasetError(rq.data.string() + ": task " + st.task.name + " has " + std::to_string(train.size()) +
                       " train and " + std::to_string(val.size()) + " val images (sources excluded: " +
                       excluded_text(rq.exclude_sources) + "); the domain model needs at least 2 and 1");

  configure_threads(rq.threads, 0);
  Ensemble ensemble(members_of(st.manifest));
  const auto f_train = extract_features(ensemble, train, rq.batch, rq.progress, "features (train)");
  const auto f_val = extract_features(ensemble, val, rq.batch, rq.progress, "features (val)");
  const DomainModel model = fit_domain(st.members, f_train, f_val, rq.options);
  const auto val_verdicts = verdicts(model, st.members, f_val, iota_index(val.size()));

  DomainFitSummary out;
  out.file = fs::absolute(rq.models_dir) / kDomainFile;
  save_domain_model(model, out.file);
  out.hash = weights_file_hash(out.file);
  out.bytes = static_cast<std::size_t>(fs::file_size(out.file));
  out.train_images = static_cast<int64_t>(train.size());
  out.val_images = static_cast<int64_t>(val.size());
  out.val_flagged = share_flagged(val_verdicts);

  // The manifest is read again: under the lock nothing else changed it, but the record goes
  // into what is on disk now, never into a copy read before the (long) feature pass.
  ModelsManifest mf = load_models_manifest(rq.models_dir);
  DomainRecord r;
  r.file = out.file;
  r.hash = out.hash;
  r.members_hash = domain_members_hash(mf);
  r.data_path = rq.data.string();
  r.data_hash = data_file_hash(rq.data);
  r.excluded_sources = rq.exclude_sources;
  r.train_images = out.train_images;
  r.val_images = out.val_images;
  r.components = rq.options.max_components;
  r.quantile = rq.options.quantile;
  r.rule = rule_text(rq.options.quantile, model.image);
  r.val_flagged = out.val_flagged;
  r.date = iso_utc_now();
  mf.domain = r;
  save_models_manifest(mf, mf.file.parent_path());
  out.seconds = seconds_since(t0);
  return out;
}

LosoResult loso_models_domain(const DomainFitRequest& rq) {
  const auto t0 = std::chrono::steady_clock::now();
  const Setting st = load_setting(rq);
  const auto dataset = open_dataset(rq.data);
  const TaskView view(dataset, st.task);

  // Every image of the data set once (all sources, splits and diagnoses): a source's images
  // count whether or not the task uses their diagnosis.
  std::vector<Sample> all;
  std::vector<std::string> sources;
  {
    auto reader = dataset->reader();
    for (Sample s; reader->next(s);) {
      if (excluded(s, rq.exclude_sources)) continue;
      if (std::find(sources.begin(), sources.end(), s.source) == sources.end()) sources.push_back(s.source);
      all.push_back(s);
    }
  }
  if (all.empty()) throw DatasetError(rq.data.string() + ": no images");

  configure_threads(rq.threads, 0);
  Ensemble ensemble(members_of(st.manifest));
  std::vector<FeatureMatrix> features;
  // "look<side>": the members' features and each film's look (extract_features); caches of
  // the members' features alone are computed again.
  const std::string cache_key = data_file_hash(rq.data) + " " + domain_members_hash(st.manifest) + " " +
                                std::to_string(all.size()) + " " + excluded_text(rq.exclude_sources) + " look" +
                                std::to_string(ImageDomain{}.side);
  if (rq.features_cache.empty() ||
      !load_features(rq.features_cache, cache_key, all.size(), st.members.size() + 1, &features)) {
    features = extract_features(ensemble, all, rq.batch, rq.progress, "features (all images)");
    if (!rq.features_cache.empty()) save_features(rq.features_cache, cache_key, features);
  } else if (rq.progress) {
    std::cerr << "features of " << all.size() << " images read from " << rq.features_cache.string() << "\n";
  }

  // A temporary folder for each fitted model: written and read back as classify would, never
  // inside the models folder.
  const fs::path tmp = fs::temp_directory_path() / ("gradgate-loso-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  LosoResult result;
  result.task = st.task.name;
  try {
    for (const auto& held_out : sources) {
      LosoRow row;
      row.source = held_out;
      std::vector<std::size_t> train, val, test, own;
      for (std::size_t i = 0; i < all.size(); ++i) {
        const Sample& s = all[i];
        if (s.source == held_out) {
          own.push_back(i);
          continue;
        }
        if (!view.label_of(s)) continue;
        (s.split == Split::Train ? train : s.split == Split::Val ? val : test).push_back(i);
      }
      row.train_images = static_cast<int64_t>(train.size());
      row.val_images = static_cast<int64_t>(val.size());
      row.source_images = static_cast<int64_t>(own.size());
      row.test_images = static_cast<int64_t>(test.size());
      if (train.size() < 2 || val.empty()) {
        row.note = "not fitted: task " + st.task.name + " has " + std::to_string(train.size()) + " train and " +
                   std::to_string(val.size()) + " val images outside " + held_out;
        result.rows.push_back(row);
        continue;
      }
      std::vector<FeatureMatrix> f_train, f_val;
      for (const auto& f : features) {
        f_train.push_back(rows_of(f, train));
        f_val.push_back(rows_of(f, val));
      }
      const fs::path file = tmp / (held_out.empty() ? "unnamed" : held_out) / kDomainFile;
      save_domain_model(fit_domain(st.members, f_train, f_val, rq.options), file);
      const DomainModel model = load_domain_model(file);
      const auto v_own = verdicts(model, st.members, features, own);
      const auto v_test = verdicts(model, st.members, features, test);
      row.fitted = true;
      row.source_flagged = count_flagged(v_own);
      row.test_flagged = count_flagged(v_test);
      row.source_median_score = median_score(v_own);
      row.test_median_score = median_score(v_test);
      result.rows.push_back(row);
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
  result.seconds = seconds_since(t0);
  return result;
}

}  // namespace gradgate
