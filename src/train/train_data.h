#pragma once
// The task's images per split (paths and labels only), checked before training, and the
// feeder that turns a list of them into network inputs batch by batch. Private to src/train.
#include <torch/torch.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/common/seed.h"  // mix_seed: every draw from fixed coordinates
#include "gradgate/normalization.h"
#include "gradgate/task.h"
#include "train/compat.h"

namespace gradgate::train_detail {

struct Item {
  std::filesystem::path image;
  int64_t label = 0;
  std::filesystem::path mask;  // lung mask file; empty when the data set has none
};

struct TaskData {
  std::array<std::vector<Item>, 3> split;  // train, val, test in the data set's order
  std::vector<std::string> classes;
  std::string format;
  std::array<std::vector<int64_t>, 3> counts;  // [split][class]
};

// Reads and validates; throws DatasetError listing every problem found (classes without
// images in a split, up to 10 missing files, labels the task does not know).
TaskData collect_task_data(const TaskSpec& task, const std::filesystem::path& data);

struct AugmentSpec {
  bool enabled = true;
  bool hflip = false;
  double rotate_deg = 7.0;
  double translate = 0.06;   // of the side
  double scale_min = 0.9, scale_max = 1.1;
  double brightness = 0.10;  // additive, in [0,1] gray units
  double contrast = 0.10;    // multiplicative around the mean
};

// Loads, resizes, augments and normalises images for one member, with inference's two steps
// (preprocess.h): resize_to_side, then (after augmentation) normalise_into; without
// augmentation an image comes out exactly as preprocess(gray, card) makes it. Resized (not
// augmented) images are kept in memory up to `cache_bytes`; the rest are read from disk
// every epoch.
class Feeder {
 public:
  Feeder(const std::vector<Item>& items, int64_t side, Normalization norm, int64_t cache_bytes);
  // [idx.size(), 3, side, side]. `aug_seed` != 0 draws an augmentation per image from
  // mix_seed(aug_seed, item index); `parallel` loads the images with TBB.
  torch::Tensor batch(const std::vector<std::size_t>& idx, const AugmentSpec* aug,
                      uint64_t aug_seed, bool parallel);
  // The same images' lung masks, [idx.size(), 1, side, side] floats in [0,1] (the share of
  // each input pixel inside the lungs), moved by exactly the augmentation batch() drew for
  // the same (aug, aug_seed): what the lung penalty compares Grad-CAM maps with. Images
  // without a mask get zeros and has_mask[b] = false.
  torch::Tensor masks(const std::vector<std::size_t>& idx, const AugmentSpec* aug,
                      uint64_t aug_seed, bool parallel, torch::Tensor& has_mask);
  std::size_t size() const { return items_.size(); }
  const Item& item(std::size_t i) const { return items_[i]; }
  int64_t cached_bytes() const { return used_.load(); }

 private:
  cv::Mat resized(std::size_t i);       // CV_32FC1 side x side in [0,1]
  cv::Mat resized_mask(std::size_t i);  // CV_8UC1 side x side, 255 = all lung; empty: none
  const std::vector<Item>& items_;
  int64_t side_;
  Normalization norm_;
  int64_t cache_bytes_;
  std::vector<cv::Mat> cache_;
  std::vector<cv::Mat> mask_cache_;  // side x side bytes each, all kept (masks are small)
  std::unique_ptr<std::once_flag[]> mask_once_;
  std::unique_ptr<std::atomic<int>[]> state_;  // 0 empty, 1 being filled, 2 ready
  std::atomic<int64_t> used_{0};
};

}  // namespace gradgate::train_detail
