#pragma once
// Making the lung mask sources from the cxr data set: training the U-Net, building the atlas,
// measuring Dice. Used by `ensemble-masks` and by the tests.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/lung_atlas.h"
#include "gradgate/lung_mask_rows.h"
#include "gradgate/lung_unet.h"

namespace gradgate {

class LungSegmenter;

// MaskRow, read_mask_rows, rows_with_masks: lung_mask_rows.h (torch-free).

struct UNetTrainOptions {
  UNetOptions net;
  int64_t steps = 1000;          // optimiser steps
  int64_t batch = 16;
  double lr = 2e-3;              // Adam; cosine decay to 0 over the steps
  double weight_decay = 1e-5;
  // 0: sample images at their natural frequency; 1: every source equally often.
  // Sources are drawn with probability proportional to count^(1 - source_balance).
  double source_balance = 0.5;
  double max_rotation_deg = 7.0;  // light augmentation: rotation, scale, shift, gamma, contrast
  double max_scale = 0.08;
  double max_shift = 0.05;
  double max_gamma = 0.3;
  uint64_t seed = 1;
  int64_t log_every = 50;
  int64_t val_every = 500;        // Dice on up to val_images val rows; 0 = never
  int64_t val_images = 100;
};

// Trains a U-Net on `train` rows (image + mask), logging to `log`.
UNet train_lung_unet(const std::vector<MaskRow>& train, const std::vector<MaskRow>& val,
                     const UNetTrainOptions& options, std::ostream& log);

struct DiceSummary {
  int n = 0;
  double mean = 0, median = 0, min = 0, p10 = 0;  // p10: 10th percentile
};

// Dice of `predict` (gray CV_32FC1 -> 0/255 mask at the image's size) against the rows'
// masks at the images' own size, grouped by source; also group "all".
std::map<std::string, DiceSummary> evaluate_masks(const std::function<cv::Mat(const cv::Mat&)>& predict,
                                                  const std::vector<MaskRow>& rows);
std::map<std::string, DiceSummary> evaluate_segmenter(const LungSegmenter& segmenter,
                                                      const std::vector<MaskRow>& rows);

// One split's Dice (`ensemble-masks eval`): evaluate_masks on the split's rows that have a
// mask, and per source how many of its rows have none (not scored).
struct SplitDice {
  std::string split;
  std::map<std::string, DiceSummary> dice;
  std::map<std::string, int> without_mask;
};
// For each of `splits` in order; `limit` > 0 scores at most the first `limit` masked rows.
std::vector<SplitDice> evaluate_splits(const std::function<cv::Mat(const cv::Mat&)>& predict,
                                       const std::vector<MaskRow>& rows,
                                       const std::vector<std::string>& splits, int limit = 0);

// Builds the atlas from the rows' masks; each source weighted by count^(-source_balance)
// so that source_balance = 1 gives every source the same total weight.
LungAtlas build_atlas(const std::vector<MaskRow>& rows, int side, double source_balance, std::ostream& log);

}  // namespace gradgate
