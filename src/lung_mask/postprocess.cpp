// Mask post-processing and overlap measure.
#include <algorithm>

#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/lung_mask.h"

namespace gradgate {

cv::Mat keep_two_largest_and_fill(const cv::Mat& binary) {
  CV_Assert(binary.type() == CV_8UC1);
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(binary > 0, labels, stats, centroids, 8, CV_32S);
  std::vector<std::pair<int, int>> areas;  // (area, label), background (0) excluded
  for (int i = 1; i < n; ++i) areas.emplace_back(stats.at<int>(i, cv::CC_STAT_AREA), i);
  std::sort(areas.rbegin(), areas.rend());
  cv::Mat kept = cv::Mat::zeros(binary.size(), CV_8UC1);
  for (size_t k = 0; k < std::min<size_t>(2, areas.size()); ++k) kept.setTo(255, labels == areas[k].second);
  if (areas.empty()) return kept;
  // Fill holes: background not reachable from the border (through a 1-px frame) is a hole.
  cv::Mat framed;
  cv::copyMakeBorder(kept, framed, 1, 1, 1, 1, cv::BORDER_CONSTANT, 0);
  cv::floodFill(framed, cv::Point(0, 0), 128, nullptr, 0, 0, 4);
  cv::Mat inner = framed(cv::Rect(1, 1, binary.cols, binary.rows));
  kept.setTo(255, inner == 0);
  return kept;
}

double dice(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size()) throw ImageError("dice: masks differ in size");
  const double na = cv::countNonZero(a > 0), nb = cv::countNonZero(b > 0);
  if (na + nb == 0) return 1.0;
  cv::Mat both = (a > 0) & (b > 0);
  return 2.0 * cv::countNonZero(both) / (na + nb);
}

}  // namespace gradgate
