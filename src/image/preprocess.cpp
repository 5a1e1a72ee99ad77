#include "gradgate/preprocess.h"

#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"

namespace gradgate {

namespace {

void check_side(int64_t side) {
  if (side < 1 || side > 16384)
    throw ImageError("preprocess: input side must be in [1, 16384], got " + std::to_string(side));
}

// Writes the resized image into the [3, side, side] slice at `out` (contiguous floats).
void preprocess_into(const cv::Mat& gray, int64_t side, const Normalization& norm, float* out) {
  if (gray.empty()) throw ImageError("preprocess: empty image");
  if (gray.type() != CV_32FC1)
    throw ImageError("preprocess: expected a CV_32FC1 gray image (as load_gray returns), got type " +
                     std::to_string(gray.type()));
  const int s = static_cast<int>(side);
  cv::Mat resized;
  if (gray.cols == s && gray.rows == s) {
    resized = gray;
  } else {
    // Area averaging is the anti-aliased choice when shrinking; it degenerates to
    // nearest-neighbour when enlarging, so enlarge bilinearly.
    const bool shrinking = gray.cols >= s && gray.rows >= s;
    cv::resize(gray, resized, cv::Size(s, s), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  const std::size_t plane = static_cast<std::size_t>(s) * s;
  for (int c = 0; c < 3; ++c) {
    const float mean = norm.mean[c];
    const float inv_std = 1.0f / norm.std[c];
    float* dst = out + c * plane;
    for (int y = 0; y < s; ++y) {
      const float* src = resized.ptr<float>(y);
      for (int x = 0; x < s; ++x) dst[y * s + x] = (src[x] - mean) * inv_std;
    }
  }
}

}  // namespace

torch::Tensor preprocess(const cv::Mat& gray, int64_t side, const Normalization& norm) {
  check_side(side);
  torch::Tensor t = torch::empty({3, side, side}, torch::kFloat32);
  preprocess_into(gray, side, norm, t.data_ptr<float>());
  return t;
}

torch::Tensor preprocess_batch(const std::vector<cv::Mat>& grays, int64_t side,
                               const Normalization& norm) {
  if (grays.empty()) throw ImageError("preprocess_batch: empty batch");
  check_side(side);
  const auto n = static_cast<int64_t>(grays.size());
  torch::Tensor t = torch::empty({n, 3, side, side}, torch::kFloat32);
  float* base = t.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) preprocess_into(grays[i], side, norm, base + i * 3 * side * side);
  return t;
}

}  // namespace gradgate
