#include "gradgate/gate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <cstdio>
#include <stdexcept>

#include "gradgate/bilinear.h"
#include "gradgate/error.h"

namespace gradgate {

const char* to_string(GateStatus s) {
  switch (s) {
    case GateStatus::Ok: return "ok";
    case GateStatus::EmptyMap: return "empty-map";
    case GateStatus::EmptyMask: return "empty-mask";
    case GateStatus::InvalidMask: return "invalid-mask";
  }
  return "?";
}

namespace {
// Lift is a ratio (1 = uniform); its range is bounded only to keep typos out.
constexpr double kMaxLiftTau = 1e6;
}  // namespace

std::string tau_expected(GateCriterion c) {
  return c == GateCriterion::Lift ? "a number in [0, 1e6] (lift: 1 = no better than uniform)"
                                  : "a number in [0, 1]";
}

double checked_tau(GateCriterion c, double tau, const std::string& what) {
  const double hi = c == GateCriterion::Lift ? kMaxLiftTau : 1.0;
  if (std::isfinite(tau) && tau >= 0.0 && tau <= hi) return tau;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", tau);
  throw ConfigError(what + " must be " + tau_expected(c) + " for the " + to_string(c) +
                    " criterion, got " + buf);
}

double gate_score(const LungShare& s, GateCriterion c) {
  if (s.status != GateStatus::Ok) return std::numeric_limits<double>::quiet_NaN();
  switch (c) {
    case GateCriterion::Share: return s.share;
    case GateCriterion::Lift: return s.lift;
    case GateCriterion::Excess: return s.excess;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double evidence_weight(const LungShare& s) {
  return s.status == GateStatus::Ok ? std::clamp(s.excess, 0.0, 1.0) : 0.0;
}

namespace {

// Share, lift and excess from the map's mass inside the lungs and in all; status Ok.
void finish_share(LungShare& r, double inside, double total) {
  r.share = std::clamp(inside / total, 0.0, 1.0);
  r.lift = r.share / r.mask_fraction;
  r.excess = r.mask_fraction < 1.0 ? (r.share - r.mask_fraction) / (1.0 - r.mask_fraction) : 0.0;
}

std::string size_str(const cv::Mat& m) {
  return std::to_string(m.cols) + "x" + std::to_string(m.rows);
}

// The mask as CV_32FC1 weights in [0,1].
cv::Mat mask_weights(const cv::Mat& mask) {
  cv::Mat w;
  if (mask.type() == CV_8UC1) {
    cv::Mat bin = mask != 0;  // 0 / 255
    bin.convertTo(w, CV_32F, 1.0 / 255.0);
  } else if (mask.type() == CV_32FC1) {
    double lo = 0, hi = 0;
    cv::minMaxLoc(mask, &lo, &hi);
    if (!(lo >= 0.0 && hi <= 1.0))  // also catches NaN
      throw std::invalid_argument("lung_share: float mask values must lie in [0,1], got [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
    w = mask;
  } else {
    throw std::invalid_argument("lung_share: mask must be CV_8UC1 or CV_32FC1");
  }
  return w;
}

}  // namespace

LungShare lung_share(const cv::Mat& map_in, const cv::Mat& mask) {
  if (map_in.empty() || mask.empty())
    throw std::invalid_argument("lung_share: empty map or mask image");
  if (map_in.size() != mask.size())
    throw std::invalid_argument("lung_share: map is " + size_str(map_in) + " but mask is " +
                                size_str(mask));
  if (map_in.type() != CV_32FC1 && map_in.type() != CV_64FC1)
    throw std::invalid_argument("lung_share: map must be CV_32FC1 or CV_64FC1");
  cv::Mat map;
  map_in.convertTo(map, CV_64F);
  if (!cv::checkRange(map))
    throw std::invalid_argument("lung_share: map has NaN or infinite values");
  double lo = 0, hi = 0;
  cv::minMaxLoc(map, &lo, &hi);
  if (lo < 0.0)
    throw std::invalid_argument("lung_share: map has negative values (min " + std::to_string(lo) +
                                "); Grad-CAM maps are non-negative");

  cv::Mat w;
  mask_weights(mask).convertTo(w, CV_64F);
  LungShare r;
  const double area = static_cast<double>(map.total());
  const double mask_area = cv::sum(w)[0];
  r.mask_fraction = mask_area / area;
  if (!(mask_area > 0.0)) {
    r.status = GateStatus::EmptyMask;
    return r;
  }
  const double total = cv::sum(map)[0];
  if (!(total > 0.0)) {
    r.status = GateStatus::EmptyMap;
    return r;
  }
  finish_share(r, cv::sum(map.mul(w))[0], total);
  return r;
}

ProjectedMask project_mask(const cv::Mat& mask, cv::Size grid) {
  if (mask.empty()) throw std::invalid_argument("project_mask: empty mask image");
  const cv::Mat w = mask.type() == CV_8UC1 ? mask : mask_weights(mask);  // validates floats
  ProjectedMask p;
  p.inside = bilinear_project(w, grid);
  // U^T(1) is separable: the outer product of each axis' summed tap weights.
  const auto axis_weights = [](int n_image, int n_grid) {
    std::vector<double> w(n_grid, 0.0);
    for (const auto& t : bilinear_taps(n_image, n_grid)) w[t.i0] += t.w0, w[t.i1] += t.w1;
    return w;
  };
  const auto sy = axis_weights(mask.rows, grid.height), sx = axis_weights(mask.cols, grid.width);
  p.total.create(grid, CV_64FC1);
  for (int y = 0; y < grid.height; ++y)
    for (int x = 0; x < grid.width; ++x) p.total.at<double>(y, x) = sy[y] * sx[x];
  p.mask_fraction = cv::sum(p.inside)[0] / static_cast<double>(mask.total());
  return p;
}

LungShare lung_share(const cv::Mat& low_res_map, const ProjectedMask& p) {
  if (low_res_map.type() != CV_32FC1 || low_res_map.size() != p.inside.size())
    throw std::invalid_argument("lung_share: low-res map must be CV_32FC1 " + size_str(p.inside) +
                                " (the projected mask's grid), got " + size_str(low_res_map));
  LungShare r;
  r.mask_fraction = p.mask_fraction;
  if (!(p.mask_fraction > 0.0)) {
    r.status = GateStatus::EmptyMask;
    return r;
  }
  double inside = 0.0, total = 0.0;
  for (int y = 0; y < low_res_map.rows; ++y) {
    const float* m = low_res_map.ptr<float>(y);
    const double* a = p.inside.ptr<double>(y);
    const double* t = p.total.ptr<double>(y);
    for (int x = 0; x < low_res_map.cols; ++x) {
      if (!(m[x] >= 0.0f) || std::isinf(m[x]))
        throw std::invalid_argument("lung_share: map has negative, NaN or infinite values");
      inside += m[x] * a[x];
      total += m[x] * t[x];
    }
  }
  if (!(total > 0.0)) {
    r.status = GateStatus::EmptyMap;
    return r;
  }
  finish_share(r, inside, total);
  return r;
}

std::vector<int> GateDecision::kept_indices() const {
  std::vector<int> idx;
  for (size_t i = 0; i < kept.size(); ++i)
    if (kept[i]) idx.push_back(static_cast<int>(i));
  return idx;
}

GateDecision gate_decide(const std::vector<LungShare>& members, const GateOptions& o) {
  const int n = static_cast<int>(members.size());
  if (n == 0) throw std::invalid_argument("gate_decide: no members");
  checked_tau(o.criterion, o.tau);
  if (o.quorum < 1 || o.quorum > n)
    throw ConfigError("gate quorum must lie in [1, " + std::to_string(n) +
                      "] (the number of members), got " + std::to_string(o.quorum));

  GateDecision d;
  d.soft = o.mode == GateMode::Soft;
  d.passed.assign(n, false);
  d.kept.assign(n, false);
  d.scores.assign(n, 0.0);
  d.weights.assign(n, 0.0);
  int empty_maps = 0, empty_masks = 0, invalid_masks = 0;
  for (int i = 0; i < n; ++i) {
    const auto& m = members[i];
    if (m.status == GateStatus::EmptyMap) ++empty_maps;
    if (m.status == GateStatus::EmptyMask) ++empty_masks;
    if (m.status == GateStatus::InvalidMask) ++invalid_masks;
    d.scores[i] = gate_score(m, o.criterion);
    d.weights[i] = d.soft ? evidence_weight(m) : (m.status == GateStatus::Ok ? m.share : 0.0);
    const bool passes = d.soft ? d.weights[i] > 0.0 : m.status == GateStatus::Ok && d.scores[i] >= o.tau;
    if (passes) {
      d.passed[i] = true;
      ++d.num_passed;
    }
  }
  if (d.num_passed >= o.quorum) {
    d.kept = d.passed;
    return d;
  }

  char tau_buf[32];
  std::snprintf(tau_buf, sizeof tau_buf, "%.3g", o.tau);
  std::string why;
  if (empty_masks == n) {
    why = "lung mask is empty, the gate cannot judge any member";
  } else if (invalid_masks == n) {
    why = "lung mask is not usable (see mask_warnings), the gate cannot judge any member";
  } else {
    const std::string crit = to_string(o.criterion);
    why = std::to_string(d.num_passed) + " of " + std::to_string(n) +
          (d.soft ? std::string(" members looked at the lungs more than a uniform map would")
           : o.criterion == GateCriterion::Share
               ? " members put >= " + std::string(tau_buf) + " of their Grad-CAM mass in the lungs"
               : " members reached " + crit + " >= " + tau_buf) +
          "; quorum is " + std::to_string(o.quorum);
    if (empty_maps > 0) why += " (" + std::to_string(empty_maps) + " with an empty Grad-CAM map)";
  }

  d.fallback_used = true;
  switch (o.fallback) {
    case GateFallback::Abstain:
      d.abstain = true;
      d.reason = why;
      break;
    case GateFallback::All:
      d.kept.assign(n, true);
      d.reason = why + "; fallback: all members vote";
      break;
    case GateFallback::Best: {
      int best = -1;
      for (int i = 0; i < n; ++i)
        if (members[i].status == GateStatus::Ok && (best < 0 || members[i].share > members[best].share))
          best = i;
      if (best < 0) {
        d.abstain = true;
        d.reason = why + "; fallback 'best' found no member with a judgeable map";
      } else {
        d.kept[best] = true;
        d.reason = why + "; fallback: member " + std::to_string(best) +
                   " (highest in-lung share) decides";
      }
      break;
    }
  }
  return d;
}

}  // namespace gradgate
