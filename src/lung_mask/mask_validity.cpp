// mask_validity: the checks that a lung mask can gate an image (lung_mask.h). Torch-free.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "gradgate/lung_mask.h"

namespace gradgate {

namespace {

std::string percent(double f) { return std::to_string(static_cast<int>(std::lround(f * 100))) + "%"; }

}  // namespace

MaskValidity mask_validity(const cv::Mat& mask) {
  MaskValidity v;
  if (mask.empty() || mask.type() != CV_8UC1) {
    v.valid = false;
    v.reason = "not a one-channel 8-bit mask";
    return v;
  }
  const double fraction = cv::countNonZero(mask) / static_cast<double>(mask.total());
  if (fraction > kMaxMaskFraction) {
    v.valid = false;
    v.reason = "covers " + percent(fraction) + " of the image (at most " + percent(kMaxMaskFraction) +
               "): an all-white or non-binary mask, not lungs";
    return v;
  }
  if (fraction < kMinMaskFraction) {
    v.valid = false;
    v.reason = "covers " + percent(fraction) + " of the image (at least " + percent(kMinMaskFraction) +
               "): too small to be the lungs";
    return v;
  }
  // Components on a copy at most 512 px a side (nearest: a binary mask stays binary); noise
  // stays fragmented at that size, and a 50 MP mask costs no more than a small one.
  cv::Mat m = mask;
  const double scale = std::min(1.0, 512.0 / std::max(mask.cols, mask.rows));
  if (scale < 1.0) cv::resize(mask, m, cv::Size(), scale, scale, cv::INTER_NEAREST);
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(m > 0, labels, stats, centroids, 8, CV_32S);
  std::vector<int> areas;
  long long total = 0;
  for (int i = 1; i < n; ++i) {
    areas.push_back(stats.at<int>(i, cv::CC_STAT_AREA));
    total += areas.back();
  }
  std::sort(areas.begin(), areas.end(), std::greater<int>());
  const long long two = (areas.size() > 0 ? areas[0] : 0) + (areas.size() > 1 ? areas[1] : 0);
  if (total > 0 && two < kMinMaskLargestTwo * static_cast<double>(total)) {
    v.valid = false;
    v.reason = "fragmented into " + std::to_string(n - 1) + " pieces, the two largest holding " +
               percent(two / static_cast<double>(total)) + " of it (at least " +
               percent(kMinMaskLargestTwo) + "): noise, not two lungs";
    return v;
  }
  // Dense noise percolates into one component; it is all edge. A lung's edge is a thin rim
  // (a few % of its pixels at 512 px; under 35% even for lungs 10 px wide).
  cv::Mat inner;
  cv::erode(m > 0, inner, cv::getStructuringElement(cv::MORPH_CROSS, {3, 3}), {-1, -1}, 1,
            cv::BORDER_CONSTANT, 0);
  const double edge = 1.0 - cv::countNonZero(inner) / static_cast<double>(total);
  if (edge > kMaxMaskEdge) {
    v.valid = false;
    v.reason = "ragged: " + percent(edge) + " of its pixels lie on its edge (at most " + percent(kMaxMaskEdge) +
               "): noise, not lungs";
  }
  return v;
}

}  // namespace gradgate
