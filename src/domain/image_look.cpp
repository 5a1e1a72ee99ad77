// The domain check's image-space part (domain.h, ImageDomain): a film's look as a small
// thumbnail's shape plus its intensity statistics, and the distance to the nearest training
// films. No torch: plain loops over a few thousand references of ~600 values.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "gradgate/common/quantile.h"
#include "gradgate/domain.h"
#include "gradgate/error.h"

namespace gradgate {

namespace {

// Values as float16 would store them (OpenCV's conversion rounds to nearest).
std::vector<float> rounded_to_half(const std::vector<float>& v) {
  if (v.empty()) return v;
  const cv::Mat f(1, static_cast<int>(v.size()), CV_32FC1, const_cast<float*>(v.data()));
  cv::Mat h, back;
  f.convertTo(h, CV_16F);
  h.convertTo(back, CV_32F);
  return std::vector<float>(back.ptr<float>(), back.ptr<float>() + v.size());
}

}  // namespace

std::vector<float> image_look(const cv::Mat& gray, int side) {
  if (side < 2) throw std::invalid_argument("image_look: side must be at least 2");
  if (gray.empty() || gray.channels() != 1)
    throw std::invalid_argument("image_look: expected a non-empty one-channel image");
  cv::Mat g;
  gray.convertTo(g, CV_32F, gray.depth() == CV_8U ? 1.0 / 255.0 : 1.0);
  cv::Mat t;
  cv::resize(g, t, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  const std::size_t n = static_cast<std::size_t>(side) * side;
  std::vector<double> x(n);
  for (int y = 0; y < side; ++y)
    for (int c = 0; c < side; ++c) x[static_cast<std::size_t>(y) * side + c] = t.at<float>(y, c);
  double mean = 0.0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(n);
  double var = 0.0;
  for (double v : x) var += (v - mean) * (v - mean);
  const double sd = std::sqrt(var / static_cast<double>(n));
  std::vector<float> out(n + ImageDomain::kStats, 0.0f);
  double norm = 0.0;
  std::vector<double> shape(n);
  for (std::size_t i = 0; i < n; ++i) {
    shape[i] = (x[i] - mean) / (sd + 1e-6);
    norm += shape[i] * shape[i];
  }
  norm = std::sqrt(norm);
  // A flat film (deviation at rounding level) has no shape: normalising its rounding noise to
  // unit length would invent one.
  if (norm > 0 && sd > 1e-4)
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(shape[i] / norm);
  std::vector<double> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  const double stats[ImageDomain::kStats] = {mean,
                                             sd,
                                             sorted_quantile(sorted, 0.05),
                                             sorted_quantile(sorted, 0.25),
                                             sorted_quantile(sorted, 0.5),
                                             sorted_quantile(sorted, 0.75),
                                             sorted_quantile(sorted, 0.95)};
  for (std::size_t i = 0; i < ImageDomain::kStats; ++i) out[n + i] = static_cast<float>(stats[i]);
  return out;
}

std::vector<float> ImageDomain::features(const std::vector<float>& raw) const {
  if (raw.size() != dims())
    throw std::invalid_argument("ImageDomain: expected " + std::to_string(dims()) + " raw values (a " +
                                std::to_string(side) + "x" + std::to_string(side) + " look), got " +
                                std::to_string(raw.size()));
  std::vector<float> f = raw;
  const std::size_t n = dims() - kStats;
  for (std::size_t i = 0; i < kStats; ++i)
    f[n + i] = static_cast<float>(weight * (raw[n + i] - stats_mean[i]) / stats_std[i]);
  return f;
}

double ImageDomain::score(const std::vector<float>& raw) const {
  const std::vector<float> f = features(raw);
  const std::size_t d = dims(), n = rows();
  std::vector<double> dist(n);
  for (std::size_t r = 0; r < n; ++r) {
    const float* ref = references.data() + r * d;
    double s = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double e = static_cast<double>(f[j]) - ref[j];
      s += e * e;
    }
    dist[r] = s;
  }
  const std::size_t kth = std::min<std::size_t>(static_cast<std::size_t>(k), n) - 1;
  std::nth_element(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(kth), dist.end());
  return dist[kth];
}

void ImageDomain::validate(const std::string& where) const {
  const auto bad = [&](const std::string& what) { throw ModelError(where + ": image look: " + what); };
  if (side < 2 || side > 256) bad("side " + std::to_string(side) + " is outside [2, 256]");
  if (k < 1) bad("k " + std::to_string(k) + " is below 1");
  if (!(weight >= 0) || !std::isfinite(weight)) bad("weight is not a number >= 0");
  if (stats_mean.size() != kStats || stats_std.size() != kStats)
    bad("expected " + std::to_string(kStats) + " statistics' means and deviations");
  for (std::size_t i = 0; i < kStats; ++i)
    if (!std::isfinite(stats_mean[i]) || !(stats_std[i] > 0) || !std::isfinite(stats_std[i]))
      bad("a statistic's mean or deviation is not a finite (positive) number");
  if (references.empty() || references.size() % dims() != 0)
    bad(std::to_string(references.size()) + " reference values are not rows of " + std::to_string(dims()));
  if (rows() < static_cast<std::size_t>(k)) bad("fewer references than k");
  for (float v : references)
    if (!std::isfinite(v)) bad("a reference is not finite");
  if (!(threshold > 0 && std::isfinite(threshold))) bad("threshold is not a positive number");
}

ImageDomain fit_image_domain(const FeatureMatrix& train, const FeatureMatrix& val, double quantile,
                             const ImageDomain& settings) {
  ImageDomain d;
  d.side = settings.side;
  d.weight = settings.weight;
  d.k = settings.k;
  const std::size_t dims = d.dims(), n = dims - ImageDomain::kStats;
  if (train.rows < static_cast<std::size_t>(std::max(2, d.k)))
    throw DatasetError("domain model (image look): " + std::to_string(train.rows) + " training images; at least " +
                       std::to_string(std::max(2, d.k)) + " are needed");
  if (val.rows < 1) throw DatasetError("domain model (image look): no validation images to calibrate on");
  if (train.cols != dims || val.cols != dims)
    throw std::invalid_argument("fit_image_domain: expected rows of " + std::to_string(dims) + " values");
  if (!(quantile > 0 && quantile < 1)) throw std::invalid_argument("fit_image_domain: quantile outside (0, 1)");
  d.stats_mean.assign(ImageDomain::kStats, 0.0f);
  d.stats_std.assign(ImageDomain::kStats, 0.0f);
  for (std::size_t i = 0; i < ImageDomain::kStats; ++i) {
    double m = 0.0, v = 0.0;
    for (std::size_t r = 0; r < train.rows; ++r) m += train.row(r)[n + i];
    m /= static_cast<double>(train.rows);
    for (std::size_t r = 0; r < train.rows; ++r) v += (train.row(r)[n + i] - m) * (train.row(r)[n + i] - m);
    d.stats_mean[i] = static_cast<float>(m);
    // A statistic that never varies on the training films (a synthetic set) must not divide
    // by zero: its deviation is floored.
    d.stats_std[i] = static_cast<float>(std::max(std::sqrt(v / static_cast<double>(train.rows)), 1e-6));
  }
  std::vector<float> refs;
  refs.reserve(train.rows * dims);
  for (std::size_t r = 0; r < train.rows; ++r) {
    const std::vector<float> f = d.features(std::vector<float>(train.row(r), train.row(r) + dims));
    refs.insert(refs.end(), f.begin(), f.end());
  }
  // Stored as float16 (domain.pt): calibrated on exactly what classify will compute.
  d.references = rounded_to_half(refs);
  d.threshold = 1.0;  // scores below are raw distances; validate() wants it positive
  std::vector<double> scores(val.rows);
  for (std::size_t r = 0; r < val.rows; ++r) scores[r] = d.score(std::vector<float>(val.row(r), val.row(r) + dims));
  std::sort(scores.begin(), scores.end());
  d.threshold = std::max(sorted_quantile(scores, quantile), 1e-12);
  return d;
}

void add_image_verdict(DomainVerdict& v, double image_ratio, double quantile) {
  if (!std::isfinite(image_ratio)) return;
  v.image_score = image_ratio;
  v.checked = true;
  v.score = std::isfinite(v.member_score) ? std::max(v.member_score, image_ratio) : image_ratio;
  v.flagged = v.score > 1.0;
  if (image_ratio > 1.0 && !(v.member_score > 1.0)) {
    char b[256];
    std::snprintf(b, sizeof b,
                  "outside the training domain: the film's look scores %.2f > 1 (distance of its thumbnail "
                  "to the nearest training films / its threshold; the check is above 1 on %g%% of the "
                  "validation images)",
                  image_ratio, (1.0 - quantile) * 100.0);
    v.reason = b;
  }
}

}  // namespace gradgate
