#pragma once
// Charts drawn with OpenCV (no plotting library on the machine): line charts, box plots with
// their points, and a confusion-matrix grid, as BGR images for write_png_file. Private to
// src/evaluate/.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace gradgate::plot {

struct Series {
  std::string name;
  std::vector<double> x, y;  // NaN y values break the line
  cv::Scalar color;
  bool dashed = false;
  bool points = true;
};

// The palette series take by index (distinct, colour-blind friendly first).
cv::Scalar color(size_t i);

// x and y ranges are fixed ({lo, hi}); a legend lists the series.
cv::Mat line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                   const std::vector<Series>& series, cv::Vec2d x_range, cv::Vec2d y_range,
                   cv::Size size = {720, 480});

// One box (quartiles, median, whiskers to min/max) per group with its values as jittered
// points (deterministic jitter), groups along x.
cv::Mat box_chart(const std::string& title, const std::vector<std::string>& groups,
                  const std::vector<std::vector<double>>& values, const std::string& y_label,
                  cv::Vec2d y_range, int height = 480);

// counts[true][predicted], shaded by the row's share, each cell with its count.
cv::Mat confusion_chart(const std::string& title, const std::vector<std::string>& classes,
                        const std::vector<std::vector<int64_t>>& counts);

}  // namespace gradgate::plot
