#include "train/train_data.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/lung_mask.h"
#include "gradgate/preprocess.h"

namespace gradgate::train_detail {

namespace fs = std::filesystem;

namespace {
const char* kSplitNames[3] = {"train", "val", "test"};
}

TaskData collect_task_data(const TaskSpec& task, const fs::path& data) {
  RawData raw = read_raw_data(data);
  TaskData td;
  td.classes = task.classes;
  td.format = raw.format;
  const int k = task.num_classes();
  for (auto& c : td.counts) c.assign(k, 0);
  // Data sets whose labels are the user's own (folders, plain CSV) must use only the task's
  // labels; the cxr manifest carries diagnoses a task leaves out on purpose (e.g. `other`).
  const bool own_labels = raw.format != "manifest";
  std::map<std::string, int64_t> unknown;
  std::vector<fs::path> missing_listed;
  int64_t missing = 0;
  for (const auto& s : raw.samples) {
    if (!s.source.empty() && !task.uses_source(s.source)) continue;
    const auto label = task.label_of(s.diagnosis);
    if (!label) {
      if (own_labels) ++unknown[s.diagnosis];
      continue;
    }
    std::error_code ec;
    if (!fs::is_regular_file(s.image, ec)) {
      if (missing_listed.size() < 10) missing_listed.push_back(s.image);
      ++missing;
      continue;
    }
    td.split[s.split].push_back({s.image, *label, s.mask});
    ++td.counts[s.split][*label];
  }
  std::vector<std::string> problems;
  if (!unknown.empty()) {
    std::string p = "labels the task '" + task.name + "' does not know:";
    for (const auto& [l, n] : unknown) p += " '" + l + "' (" + std::to_string(n) + " images)";
    std::string known;
    for (const auto& [l, c] : task.label_map) known += (known.empty() ? "" : ", ") + l;
    problems.push_back(p + "; known labels: " + known);
  }
  if (missing > 0) {
    std::string p = std::to_string(missing) + " image files missing:";
    for (const auto& f : missing_listed) p += "\n    " + f.string();
    if (missing > static_cast<int64_t>(missing_listed.size())) p += "\n    ...";
    problems.push_back(p);
  }
  for (int s = 0; s < 3; ++s)
    for (int c = 0; c < k; ++c)
      if (td.counts[s][c] == 0)
        problems.push_back("class '" + task.classes[c] + "' has no images in the " + kSplitNames[s] +
                           " split");
  if (!problems.empty()) {
    std::string msg = data.string() + ": cannot train task '" + task.name + "':";
    for (const auto& p : problems) msg += "\n  - " + p;
    throw DatasetError(msg);
  }
  return td;
}

Feeder::Feeder(const std::vector<Item>& items, int64_t side, Normalization norm, int64_t cache_bytes)
    : items_(items), side_(side), norm_(norm), cache_bytes_(cache_bytes), cache_(items.size()),
      state_(new std::atomic<int>[items.size()]), mask_cache_(items.size()),
      mask_once_(new std::once_flag[items.size()]) {
  for (std::size_t i = 0; i < items.size(); ++i) state_[i] = 0;
}

cv::Mat Feeder::resized(std::size_t i) {
  if (state_[i].load(std::memory_order_acquire) == 2) return cache_[i];
  cv::Mat gray = load_gray_image(items_[i].image);
  cv::Mat out = resize_to_side(gray, side_);
  const int64_t bytes = static_cast<int64_t>(out.total() * out.elemSize());
  // One thread claims the slot (a sampled batch may hold an index twice); over the bound
  // the image is simply not kept.
  int expected = 0;
  if (used_.load() + bytes <= cache_bytes_ && state_[i].compare_exchange_strong(expected, 1)) {
    if (used_.fetch_add(bytes) + bytes <= cache_bytes_) {
      cache_[i] = out.clone();
      state_[i].store(2, std::memory_order_release);
    } else {
      used_.fetch_sub(bytes);
      state_[i].store(0);
    }
  }
  return out;
}

namespace {

// One image's augmentation, drawn from its seed. The geometry applies to the image and to
// its lung mask alike, so the mask stays on the lungs the network sees.
struct AugmentDraw {
  cv::Mat affine;  // 2x3
  bool flip = false;
  double bright = 0.0, contrast = 1.0;
};

AugmentDraw draw_augment(const AugmentSpec& a, uint64_t seed, cv::Size size) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  // The order of the draws is part of the seed's meaning (resumed runs redraw them).
  const double angle = a.rotate_deg * u(rng);
  const double scale = a.scale_min + (a.scale_max - a.scale_min) * 0.5 * (u(rng) + 1.0);
  const double tx = a.translate * size.width * u(rng), ty = a.translate * size.height * u(rng);
  AugmentDraw d;
  d.bright = a.brightness * u(rng);
  d.contrast = 1.0 + a.contrast * u(rng);
  d.flip = a.hflip && u(rng) > 0.0;
  d.affine = cv::getRotationMatrix2D(cv::Point2f(size.width / 2.0f, size.height / 2.0f), angle, scale);
  d.affine.at<double>(0, 2) += tx;
  d.affine.at<double>(1, 2) += ty;
  return d;
}

cv::Mat warp(const cv::Mat& img, const AugmentDraw& d) {
  cv::Mat out;
  cv::warpAffine(img, out, d.affine, img.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  if (d.flip) cv::flip(out, out, 1);
  return out;
}

cv::Mat augment(const cv::Mat& img, const AugmentSpec& a, uint64_t seed) {
  const AugmentDraw d = draw_augment(a, seed, img.size());
  cv::Mat out = warp(img, d);
  const double mean = cv::mean(out)[0];
  out.convertTo(out, CV_32F, d.contrast, (1.0 - d.contrast) * mean + d.bright);
  cv::min(cv::max(out, 0.0), 1.0, out);
  return out;
}

}  // namespace

torch::Tensor Feeder::batch(const std::vector<std::size_t>& idx, const AugmentSpec* aug,
                            uint64_t aug_seed, bool parallel) {
  const int64_t n = static_cast<int64_t>(idx.size()), s = side_;
  torch::Tensor out = torch::empty({n, 3, s, s}, torch::kFloat32);
  float* base = out.data_ptr<float>();
  auto one = [&](int64_t b) {
    cv::Mat img = resized(idx[b]);
    if (aug && aug->enabled) img = augment(img, *aug, mix_seed(aug_seed, idx[b]));
    normalise_into(img, norm_, base + b * 3 * s * s);
  };
  if (parallel)
    tbb::parallel_for(int64_t{0}, n, one);
  else
    for (int64_t b = 0; b < n; ++b) one(b);
  return out;
}

cv::Mat Feeder::resized_mask(std::size_t i) {
  std::call_once(mask_once_[i], [&] {
    if (items_[i].mask.empty()) return;
    // Stretched to side x side like the image (resize_to_side), so the two stay aligned even
    // when the mask file was drawn at another resolution of the same film.
    const cv::Mat m = read_mask_file(items_[i].mask, std::nullopt, nullptr);
    mask_cache_[i] = resize_to_side(m, side_);
  });
  return mask_cache_[i];
}

torch::Tensor Feeder::masks(const std::vector<std::size_t>& idx, const AugmentSpec* aug,
                            uint64_t aug_seed, bool parallel, torch::Tensor& has_mask) {
  const int64_t n = static_cast<int64_t>(idx.size()), s = side_;
  torch::Tensor out = torch::zeros({n, 1, s, s}, torch::kFloat32);
  has_mask = torch::zeros({n}, torch::kBool);
  float* base = out.data_ptr<float>();
  bool* has = has_mask.data_ptr<bool>();
  auto one = [&](int64_t b) {
    cv::Mat m = resized_mask(idx[b]);
    if (m.empty()) return;
    cv::Mat f;
    m.convertTo(f, CV_32F, 1.0 / 255.0);
    if (aug && aug->enabled) f = warp(f, draw_augment(*aug, mix_seed(aug_seed, idx[b]), f.size()));
    cv::Mat dst(static_cast<int>(s), static_cast<int>(s), CV_32FC1, base + b * s * s);
    f.copyTo(dst);
    has[b] = true;
  };
  if (parallel)
    tbb::parallel_for(int64_t{0}, n, one);
  else
    for (int64_t b = 0; b < n; ++b) one(b);
  return out;
}

}  // namespace gradgate::train_detail
