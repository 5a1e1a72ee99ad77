#pragma once
// Bilinear resampling between a Grad-CAM map's grid (h x w) and the image's grid (H x W),
// written out as separable two-tap weights: output sample d reads input position
// s = (d + 0.5) * n_in / n_out - 0.5, clamped to [0, n_in - 1] (pixel centres, the convention
// of cv::resize INTER_LINEAR and of torch's interpolate with align_corners=false).
//
// Why explicit weights: upsampling U is linear, so sum(U(map) * mask) = sum(map * U^T(mask)).
// The gate projects each image's mask once per feature-grid size (U^T: one pass over the
// mask) and then judges every member with an h x w dot product, instead of upsampling each
// member's map to the full image and multiplying there. The same weights make the maps that
// are drawn and saved, so the two routes agree to rounding (tests/test_bilinear.cpp).
// No torch here.
#include <vector>

#include <opencv2/core.hpp>

namespace gradgate {

// Where output sample d reads from: w0 * in[i0] + w1 * in[i1] (w0 + w1 = 1).
struct BilinearTap {
  int i0 = 0, i1 = 0;
  float w0 = 1.f, w1 = 0.f;
};

// One tap per output sample; n_out, n_in >= 1 (throws std::invalid_argument otherwise).
std::vector<BilinearTap> bilinear_taps(int n_out, int n_in);

// `small` (CV_32FC1, h x w) resampled to `size` (H x W), CV_32FC1.
cv::Mat bilinear_resize(const cv::Mat& small, cv::Size size);

// The adjoint: `big` (H x W; CV_8UC1 read as 0/1 for zero/non-zero, or CV_32FC1 weights)
// pulled back onto an h x w grid = Uy^T * big * Ux, CV_64FC1. Accumulates in double.
cv::Mat bilinear_project(const cv::Mat& big, cv::Size small);

}  // namespace gradgate
