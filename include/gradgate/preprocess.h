#pragma once
// From a loaded gray image to a network input: resize to the member's input side,
// replicate to 3 channels, normalise per channel. Uses torch (include only where needed).
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/config.h"

namespace gradgate {

// `gray` is CV_32FC1 in [0,1] (as load_gray returns). Returns float [3, side, side]:
// the image stretched to side x side (area averaging when shrinking, bilinear when
// enlarging), the same gray in each channel, then (x - mean[c]) / std[c].
torch::Tensor preprocess(const cv::Mat& gray, int64_t side, const Normalization& norm);

// The same for a batch: [N, 3, side, side]. Throws ImageError on an empty batch.
torch::Tensor preprocess_batch(const std::vector<cv::Mat>& grays, int64_t side,
                               const Normalization& norm);

}  // namespace gradgate
