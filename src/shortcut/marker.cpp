// Where a marker may go (clear of the lungs) and how it is drawn.
#include <algorithm>
#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/shortcut.h"

namespace gradgate {

namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// Sizes scale with the film's shorter side, so a marker stays visible after the film is
// shrunk to a member's input side (a 128 px input still sees a 13-18 px marker).
int stroke_of(int side) { return std::max(2, side / 70); }

// The text's box for a glyph height of `height` pixels.
cv::Size text_size(const std::string& text, int height, int thickness, double* scale) {
  int base = 0;
  const cv::Size unit = cv::getTextSize(text, kFont, 1.0, thickness, &base);
  *scale = static_cast<double>(height) / std::max(1, unit.height);
  const cv::Size s = cv::getTextSize(text, kFont, *scale, thickness, &base);
  return {s.width, s.height + base};
}

// The marker's size (and text) before it is placed.
MarkerPlacement shape_of(MarkerKind kind, int side, std::mt19937_64& rng) {
  MarkerPlacement m;
  m.kind = kind;
  double scale = 1.0;
  switch (kind) {
    case MarkerKind::Square: {
      const int a = std::max(4, static_cast<int>(std::lround(0.10 * side)));
      m.box = {0, 0, a, a};
      break;
    }
    case MarkerKind::Letter: {
      m.text = (rng() & 1) ? "L" : "R";
      const cv::Size s = text_size(m.text, std::max(6, static_cast<int>(0.13 * side)),
                                   stroke_of(side), &scale);
      m.box = {0, 0, s.width + 2, s.height + 2};
      break;
    }
    case MarkerKind::Tag: {
      m.text = "PORTABLE";
      const int pad = std::max(2, side / 60);
      const cv::Size s = text_size(m.text, std::max(5, static_cast<int>(0.05 * side)),
                                   std::max(1, stroke_of(side) / 2), &scale);
      m.box = {0, 0, s.width + 2 * pad, s.height + 2 * pad};
      break;
    }
  }
  return m;
}

bool clear_of_lungs(const cv::Mat& lung, const cv::Rect& box, int margin) {
  const cv::Rect grown(box.x - margin, box.y - margin, box.width + 2 * margin,
                       box.height + 2 * margin);
  const cv::Rect inside = grown & cv::Rect(0, 0, lung.cols, lung.rows);
  return cv::countNonZero(lung(inside)) == 0;
}

}  // namespace

std::optional<MarkerPlacement> place_marker(const cv::Mat& lung, MarkerKind kind, uint64_t seed,
                                            double margin) {
  if (lung.empty() || lung.type() != CV_8UC1)
    throw std::invalid_argument("place_marker: the lung mask must be a non-empty CV_8UC1 image");
  if (!(margin >= 0.0 && margin < 0.5))
    throw std::invalid_argument("place_marker: margin must lie in [0, 0.5)");
  const int side = std::min(lung.cols, lung.rows);
  std::mt19937_64 rng(seed);
  MarkerPlacement m = shape_of(kind, side, rng);
  if (m.box.width >= lung.cols || m.box.height >= lung.rows) return std::nullopt;
  const int pad = static_cast<int>(std::lround(margin * side));
  // Uniform draws over every top-left corner that keeps the box inside the film; 400 draws
  // find a place on any film whose lungs leave a free band at the border.
  std::uniform_int_distribution<int> ux(0, lung.cols - m.box.width);
  std::uniform_int_distribution<int> uy(0, lung.rows - m.box.height);
  for (int attempt = 0; attempt < 400; ++attempt) {
    const cv::Rect box(ux(rng), uy(rng), m.box.width, m.box.height);
    if (clear_of_lungs(lung, box, pad)) {
      m.box = box;
      return m;
    }
  }
  return std::nullopt;
}

cv::Mat draw_marker(cv::Mat& gray, const MarkerPlacement& m) {
  if (gray.empty() || gray.type() != CV_32FC1)
    throw std::invalid_argument("draw_marker: expected a CV_32FC1 gray image");
  if ((m.box & cv::Rect(0, 0, gray.cols, gray.rows)) != m.box)
    throw std::invalid_argument("draw_marker: the marker's box lies outside the image");
  const int side = std::min(gray.cols, gray.rows);
  // Drawn into the box alone (text clipped at its edge), so no pixel outside the box, and
  // so none near the lungs, changes.
  cv::Mat patch = gray(m.box);
  switch (m.kind) {
    case MarkerKind::Square:
      patch.setTo(1.0f);
      break;
    case MarkerKind::Letter: {
      double scale = 1.0;
      const int thick = stroke_of(side);
      text_size(m.text, std::max(6, static_cast<int>(0.13 * side)), thick, &scale);
      int base = 0;
      const cv::Size s = cv::getTextSize(m.text, kFont, scale, thick, &base);
      cv::putText(patch, m.text, cv::Point(1, 1 + s.height), kFont, scale, cv::Scalar(1.0),
                  thick, cv::LINE_AA);
      break;
    }
    case MarkerKind::Tag: {
      double scale = 1.0;
      const int thick = std::max(1, stroke_of(side) / 2);
      const int pad = std::max(2, side / 60);
      text_size(m.text, std::max(5, static_cast<int>(0.05 * side)), thick, &scale);
      int base = 0;
      const cv::Size s = cv::getTextSize(m.text, kFont, scale, thick, &base);
      patch.setTo(0.0f);
      cv::putText(patch, m.text, cv::Point(pad, pad + s.height), kFont, scale, cv::Scalar(1.0),
                  thick, cv::LINE_AA);
      break;
    }
  }
  cv::Mat mask = cv::Mat::zeros(gray.size(), CV_8UC1);
  mask(m.box).setTo(255);
  return mask;
}

}  // namespace gradgate
