#pragma once
// From a loaded gray image to a member's network input, as its card says: resize to the
// card's input side, replicate to 3 channels, normalise per channel with the card's
// normalisation. Inference, training (which augments between the two steps), the benches and
// the U-Net's resize all go through the functions here. Uses torch (include only where needed).
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/member_card.h"
#include "gradgate/normalization.h"

namespace gradgate {

// Step 1, the one interpolation rule: `gray` (one channel, any depth) stretched to
// side x side; INTER_AREA when either side shrinks, else INTER_LINEAR; returned as is when it
// already is side x side. Throws ImageError for an empty image or a side out of [1, 16384].
cv::Mat resize_to_side(const cv::Mat& gray, int64_t side);

// Step 2: writes the [3, side, side] input (contiguous floats at `out`) of a side x side
// CV_32FC1 image: the same gray in each channel, then (x - mean[c]) / std[c].
void normalise_into(const cv::Mat& resized, const Normalization& norm, float* out);

// Both steps. `gray` is CV_32FC1 in [0,1] (as load_gray returns). Returns float
// [3, side, side] at the card's input side.
torch::Tensor preprocess(const cv::Mat& gray, const MemberCard& card);

// The same for a batch: [N, 3, side, side]. Throws ImageError on an empty batch.
torch::Tensor preprocess_batch(const std::vector<cv::Mat>& grays, const MemberCard& card);

}  // namespace gradgate
