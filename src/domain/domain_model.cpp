// Scoring with a fitted domain model and the image's verdict (domain.h). Plain loops: one
// [k x C] product per member and image, a few tens of thousands of multiply-adds.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "gradgate/domain.h"
#include "gradgate/error.h"

namespace gradgate {

double MemberDomain::score(const float* x, std::size_t n) const {
  const std::size_t c = channels(), k = rank();
  if (n != c)
    throw std::invalid_argument("MemberDomain::score: member " + member + " expects " + std::to_string(c) +
                                " features, got " + std::to_string(n));
  std::vector<double> d(c);
  double total = 0.0;
  for (std::size_t j = 0; j < c; ++j) {
    d[j] = static_cast<double>(x[j]) - mean[j];
    total += d[j] * d[j];
  }
  double s = 0.0, explained = 0.0;
  for (std::size_t i = 0; i < k; ++i) {
    const float* w = components.data() + i * c;
    double z = 0.0;
    for (std::size_t j = 0; j < c; ++j) z += w[j] * d[j];
    explained += z * z;
    s += z * z / variances[i];
  }
  if (k < c && residual_variance > 0) s += std::max(0.0, total - explained) / residual_variance;
  return s;
}

void MemberDomain::validate(const std::string& where) const {
  const auto bad = [&](const std::string& what) { throw ModelError(where + ": member " + member + ": " + what); };
  const std::size_t c = channels(), k = rank();
  if (c == 0) bad("no features (empty mean)");
  if (k == 0 || k > c) bad(std::to_string(k) + " principal directions for " + std::to_string(c) + " features");
  if (components.size() != k * c)
    bad("components hold " + std::to_string(components.size()) + " values, expected " + std::to_string(k) + " x " +
        std::to_string(c));
  for (float v : mean)
    if (!std::isfinite(v)) bad("mean is not finite");
  for (float v : components)
    if (!std::isfinite(v)) bad("components are not finite");
  for (float v : variances)
    if (!(v > 0) || !std::isfinite(v)) bad("a variance is not a positive number");
  if (k < c && !(residual_variance > 0 && std::isfinite(residual_variance)))
    bad("residual variance is not a positive number");
  if (!(threshold > 0 && std::isfinite(threshold))) bad("threshold is not a positive number");
}

const MemberDomain* DomainModel::find(const std::string& name) const {
  for (const auto& m : members)
    if (m.member == name) return &m;
  return nullptr;
}

DomainVerdict domain_verdict(const std::vector<double>& ratios, double quantile) {
  std::vector<double> r;
  r.reserve(ratios.size());
  for (double v : ratios)
    if (std::isfinite(v)) r.push_back(v);
  DomainVerdict out;
  if (r.empty()) return out;
  std::sort(r.begin(), r.end());
  const std::size_t n = r.size();
  out.checked = true;
  out.members = static_cast<int>(n);
  out.score = n % 2 ? r[n / 2] : 0.5 * (r[n / 2 - 1] + r[n / 2]);
  out.member_score = out.score;
  out.flagged = out.score > 1.0;
  if (out.flagged) {
    char b[256];
    std::snprintf(b, sizeof b,
                  "outside the training domain: score %.2f > 1 (median over %zu members of PCA-Mahalanobis "
                  "distance / its threshold; above 1 on %g%% of the validation images)",
                  out.score, n, (1.0 - quantile) * 100.0);
    out.reason = b;
  }
  return out;
}

}  // namespace gradgate
