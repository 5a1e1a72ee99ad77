#include "gradgate/bilinear.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace gradgate {

std::vector<BilinearTap> bilinear_taps(int n_out, int n_in) {
  if (n_out < 1 || n_in < 1)
    throw std::invalid_argument("bilinear_taps: sizes must be >= 1, got " + std::to_string(n_out) +
                                " from " + std::to_string(n_in));
  std::vector<BilinearTap> taps(n_out);
  const double scale = static_cast<double>(n_in) / n_out;
  for (int d = 0; d < n_out; ++d) {
    const double s = std::max(0.0, (d + 0.5) * scale - 0.5);
    BilinearTap& t = taps[d];
    t.i0 = std::min(static_cast<int>(std::floor(s)), n_in - 1);
    t.i1 = std::min(t.i0 + 1, n_in - 1);
    t.w1 = t.i1 == t.i0 ? 0.f : static_cast<float>(s - t.i0);
    t.w0 = 1.f - t.w1;
  }
  return taps;
}

cv::Mat bilinear_resize(const cv::Mat& small, cv::Size size) {
  if (small.empty() || small.type() != CV_32FC1)
    throw std::invalid_argument("bilinear_resize: expected a non-empty CV_32FC1 map");
  const auto ty = bilinear_taps(size.height, small.rows);
  const auto tx = bilinear_taps(size.width, small.cols);
  cv::Mat big(size, CV_32FC1);
  std::vector<float> row(small.cols);
  for (int y = 0; y < size.height; ++y) {
    const float* a = small.ptr<float>(ty[y].i0);
    const float* b = small.ptr<float>(ty[y].i1);
    for (int x = 0; x < small.cols; ++x) row[x] = ty[y].w0 * a[x] + ty[y].w1 * b[x];
    float* out = big.ptr<float>(y);
    for (int x = 0; x < size.width; ++x) out[x] = tx[x].w0 * row[tx[x].i0] + tx[x].w1 * row[tx[x].i1];
  }
  return big;
}

cv::Mat bilinear_project(const cv::Mat& big, cv::Size small) {
  if (big.empty() || (big.type() != CV_8UC1 && big.type() != CV_32FC1))
    throw std::invalid_argument("bilinear_project: expected a non-empty CV_8UC1 or CV_32FC1 image");
  const auto ty = bilinear_taps(big.rows, small.height);
  const auto tx = bilinear_taps(big.cols, small.width);
  cv::Mat out = cv::Mat::zeros(small, CV_64FC1);
  std::vector<double> row(small.width);
  for (int y = 0; y < big.rows; ++y) {
    // Horizontal pull-back of this row onto w columns, then its two vertical taps.
    std::fill(row.begin(), row.end(), 0.0);
    if (big.type() == CV_8UC1) {
      const uchar* p = big.ptr<uchar>(y);
      for (int x = 0; x < big.cols; ++x)
        if (p[x]) {
          row[tx[x].i0] += tx[x].w0;
          row[tx[x].i1] += tx[x].w1;
        }
    } else {
      const float* p = big.ptr<float>(y);
      for (int x = 0; x < big.cols; ++x) {
        row[tx[x].i0] += static_cast<double>(tx[x].w0) * p[x];
        row[tx[x].i1] += static_cast<double>(tx[x].w1) * p[x];
      }
    }
    double* a = out.ptr<double>(ty[y].i0);
    double* b = out.ptr<double>(ty[y].i1);
    for (int x = 0; x < small.width; ++x) {
      a[x] += ty[y].w0 * row[x];
      b[x] += ty[y].w1 * row[x];
    }
  }
  return out;
}

}  // namespace gradgate
