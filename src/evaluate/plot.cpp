// Line charts, box plots and confusion grids with cv::line/rectangle/putText. Simple and
// legible rather than pretty: a white canvas, axes with 5-6 ticks, a legend.
#include "evaluate/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

namespace gradgate::plot {

namespace {

const cv::Scalar kBlack(0, 0, 0), kGrey(200, 200, 200), kWhite(255, 255, 255);
const int kFont = cv::FONT_HERSHEY_SIMPLEX;

void text(cv::Mat& img, const std::string& s, cv::Point p, double scale = 0.45, cv::Scalar c = kBlack,
          int thickness = 1) {
  cv::putText(img, s, p, kFont, scale, c, thickness, cv::LINE_AA);
}

int text_width(const std::string& s, double scale = 0.45) {
  int base = 0;
  return cv::getTextSize(s, kFont, scale, 1, &base).width;
}

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::round(v * 1000) / 1000 + 0.0);  // + 0.0: no "-0"
  return buf;
}

// 5 or so round ticks over [lo, hi].
std::vector<double> ticks(double lo, double hi) {
  const double span = hi - lo;
  if (!(span > 0)) return {lo};
  const double raw = span / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step) t.push_back(v);
  return t;
}

struct Frame {
  cv::Rect area;  // the plotting area in pixels
  cv::Vec2d xr, yr;
  cv::Point at(double x, double y) const {
    const double fx = (x - xr[0]) / (xr[1] - xr[0]), fy = (y - yr[0]) / (yr[1] - yr[0]);
    return {area.x + static_cast<int>(std::lround(fx * area.width)),
            area.y + area.height - static_cast<int>(std::lround(fy * area.height))};
  }
};

void axes(cv::Mat& img, const Frame& f, const std::string& title, const std::string& xl, const std::string& yl,
          bool x_ticks = true) {
  text(img, title, {f.area.x, 24}, 0.6, kBlack, 1);
  for (double y : ticks(f.yr[0], f.yr[1])) {
    const cv::Point p = f.at(f.xr[0], y);
    cv::line(img, p, {f.area.x + f.area.width, p.y}, kGrey, 1);
    const std::string s = tick_label(y);
    text(img, s, {p.x - 8 - text_width(s), p.y + 5});
  }
  if (x_ticks)
    for (double x : ticks(f.xr[0], f.xr[1])) {
      const cv::Point p = f.at(x, f.yr[0]);
      cv::line(img, p, {p.x, p.y + 5}, kBlack, 1);
      const std::string s = tick_label(x);
      text(img, s, {p.x - text_width(s) / 2, p.y + 20});
    }
  cv::rectangle(img, f.area, kBlack, 1);
  text(img, xl, {f.area.x + f.area.width / 2 - text_width(xl) / 2, f.area.y + f.area.height + 40});
  // The y label, rotated: drawn on a strip and turned.
  cv::Mat strip(22, text_width(yl) + 8, CV_8UC3, kWhite);
  text(strip, yl, {4, 16});
  cv::Mat turned;
  cv::rotate(strip, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  const int y0 = std::max(0, f.area.y + f.area.height / 2 - turned.rows / 2);
  if (y0 + turned.rows <= img.rows && turned.cols <= img.cols) turned.copyTo(img(cv::Rect(4, y0, turned.cols, turned.rows)));
}

}  // namespace

cv::Scalar color(size_t i) {
  // BGR: blue, orange, green, red, purple, brown, pink, grey, olive, cyan.
  static const cv::Scalar table[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44},  {40, 39, 214},
                                     {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127},
                                     {34, 189, 188},  {207, 190, 23}};
  return table[i % 10];
}

cv::Mat line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                   const std::vector<Series>& series, cv::Vec2d xr, cv::Vec2d yr, cv::Size size) {
  const int legend_w = 190;
  cv::Mat img(size.height, size.width + legend_w, CV_8UC3, kWhite);
  Frame f{{70, 40, size.width - 90, size.height - 100}, xr, yr};
  axes(img, f, title, x_label, y_label);
  img(f.area).setTo(kWhite);
  for (double y : ticks(yr[0], yr[1])) {
    const cv::Point p = f.at(xr[0], y);
    cv::line(img, {f.area.x + 1, p.y}, {f.area.x + f.area.width - 1, p.y}, kGrey, 1);
  }
  cv::rectangle(img, f.area, kBlack, 1);
  int legend_row = 0;
  for (size_t s = 0; s < series.size(); ++s) {
    const auto& se = series[s];
    cv::Point prev;
    bool have = false;
    for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i) {
      if (!std::isfinite(se.y[i]) || !std::isfinite(se.x[i])) {
        have = false;
        continue;
      }
      const cv::Point p = f.at(std::clamp(se.x[i], xr[0], xr[1]), std::clamp(se.y[i], yr[0], yr[1]));
      if (have && (!se.dashed || i % 2 == 0)) cv::line(img, prev, p, se.color, 2, cv::LINE_AA);
      if (se.points) cv::circle(img, p, 3, se.color, cv::FILLED, cv::LINE_AA);
      prev = p;
      have = true;
    }
    if (se.name.empty()) continue;  // unnamed series (e.g. a grey crowd) have no legend line
    const int ly = 50 + legend_row++ * 22;
    const int lx = size.width + 5;
    cv::line(img, {lx, ly - 4}, {lx + 22, ly - 4}, se.color, 2, cv::LINE_AA);
    text(img, se.name.substr(0, 24), {lx + 28, ly});
  }
  return img;
}

cv::Mat box_chart(const std::string& title, const std::vector<std::string>& groups,
                  const std::vector<std::vector<double>>& values, const std::string& y_label, cv::Vec2d yr,
                  int height) {
  const int per = 44;
  const int width = 90 + per * static_cast<int>(groups.size()) + 20;
  const int label_h = 110;
  cv::Mat img(height + label_h, std::max(width, 360), CV_8UC3, kWhite);
  Frame f{{70, 40, per * static_cast<int>(groups.size()), height - 60}, {0.0, static_cast<double>(groups.size())}, yr};
  axes(img, f, title, "", y_label, false);
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<double> v;
    for (double x : values[g])
      if (std::isfinite(x)) v.push_back(x);
    std::sort(v.begin(), v.end());
    const double cx = g + 0.5;
    const cv::Scalar c = color(g);
    // Points first (light), the box on top.
    for (size_t i = 0; i < v.size(); ++i) {
      const double jitter = (((i * 2654435761u) % 1000) / 1000.0 - 0.5) * 0.6;
      cv::Point p = f.at(cx + jitter, v[i]);
      cv::circle(img, p, 1, c * 0.5 + cv::Scalar(127, 127, 127), cv::FILLED);
    }
    if (!v.empty()) {
      const auto q = [&](double p) {
        const double pos = p * (v.size() - 1);
        const size_t lo = static_cast<size_t>(pos);
        const size_t hi = std::min(v.size() - 1, lo + 1);
        return v[lo] + (pos - lo) * (v[hi] - v[lo]);
      };
      const cv::Point a = f.at(cx - 0.3, q(0.75)), b = f.at(cx + 0.3, q(0.25));
      cv::rectangle(img, a, b, c, 2);
      cv::line(img, f.at(cx - 0.3, q(0.5)), f.at(cx + 0.3, q(0.5)), kBlack, 2);
      cv::line(img, f.at(cx, q(0.75)), f.at(cx, v.back()), c, 1);
      cv::line(img, f.at(cx, q(0.25)), f.at(cx, v.front()), c, 1);
    }
    // The group's name, rotated under its box.
    const std::string name = groups[g].substr(0, 18);
    cv::Mat strip(18, text_width(name, 0.4) + 6, CV_8UC3, kWhite);
    text(strip, name, {2, 13}, 0.4);
    cv::Mat turned;
    cv::rotate(strip, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
    const cv::Point base = f.at(cx, yr[0]);
    const cv::Rect r(base.x - turned.cols / 2, base.y + 6, turned.cols, turned.rows);
    if (r.x >= 0 && r.y + r.height <= img.rows && r.x + r.width <= img.cols) turned.copyTo(img(r));
  }
  return img;
}

cv::Mat confusion_chart(const std::string& title, const std::vector<std::string>& classes,
                        const std::vector<std::vector<int64_t>>& counts) {
  const int K = static_cast<int>(classes.size());
  const int cell = 90, left = 130, top = 60;
  cv::Mat img(top + cell * K + 60, left + cell * K + 20, CV_8UC3, kWhite);
  text(img, title, {10, 24}, 0.55);
  for (int t = 0; t < K; ++t) {
    int64_t row = 0;
    for (int p = 0; p < K; ++p) row += counts[t][p];
    for (int p = 0; p < K; ++p) {
      const double share = row > 0 ? static_cast<double>(counts[t][p]) / row : 0.0;
      const cv::Rect r(left + p * cell, top + t * cell, cell, cell);
      // White to blue by the row's share; text white on dark cells.
      const cv::Scalar fill(255 - 75 * share, 255 - 200 * share, 255 - 220 * share);
      cv::rectangle(img, r, fill, cv::FILLED);
      cv::rectangle(img, r, kBlack, 1);
      const std::string s = std::to_string(counts[t][p]);
      text(img, s, {r.x + cell / 2 - text_width(s, 0.6) / 2, r.y + cell / 2 + 6}, 0.6,
           share > 0.6 ? kWhite : kBlack, 1);
    }
    text(img, classes[t].substr(0, 14), {8, top + t * cell + cell / 2 + 5});
  }
  for (int p = 0; p < K; ++p) {
    const std::string s = classes[p].substr(0, 11);
    text(img, s, {left + p * cell + cell / 2 - text_width(s) / 2, top + K * cell + 20});
  }
  text(img, "true (rows) / predicted (columns)", {left, top + K * cell + 45}, 0.45);
  return img;
}

}  // namespace gradgate::plot
