#pragma once
// The lung gate: how much of each member's Grad-CAM mass lies inside the lung mask, and which
// members that keeps for one image. No torch here.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/enum_names.h"

namespace gradgate {

enum class GateStatus {
  Ok,
  EmptyMap,   // the member's map is all zero: no evidence to locate (member cannot be judged)
  EmptyMask,  // the image's lung mask is empty: no member can be judged on this image
  InvalidMask,  // the mask failed mask_validity (lung_mask.h): judged like an empty mask
};
const char* to_string(GateStatus s);

struct LungShare {
  GateStatus status = GateStatus::Ok;
  double share = 0.0;          // sum(map*mask) / sum(map), in [0,1]; 0 unless status is Ok
  double lift = 0.0;           // share / mask_fraction (uniform map -> 1); 0 unless status is Ok
  double mask_fraction = 0.0;  // mask area / image area (filled for every status)
  // (share - f) / (1 - f) with f = mask_fraction: the share corrected for chance, as Cohen's
  // kappa corrects agreement. A map no better than uniform scores 0 whatever the lungs'
  // size, all mass inside scores 1, mass outside scores below 0 (down to -f / (1 - f)).
  // 0 unless status is Ok, and 0 when the mask covers the whole image (nothing to tell).
  // Last, so positional initialisers {status, share, lift, mask_fraction} keep their meaning.
  double excess = 0.0;
};

// `map`: CV_32FC1 or CV_64FC1, non-negative, finite (a Grad-CAM map at the image's size).
// `mask`: same size; CV_8UC1 (non-zero = lung) or CV_32FC1 with weights in [0,1] (soft mask).
// Throws std::invalid_argument on size/type mismatch, negative or non-finite map values.
// An empty mask is reported before an empty map (it concerns the image, not the member).
LungShare lung_share(const cv::Mat& map, const cv::Mat& mask);

// One image's mask pulled back onto a feature grid (h x w) through the bilinear upsampling
// that takes maps to the image's size (gradgate/bilinear.h). For a low-res map m:
//   sum(up(m) * mask) = sum(m * inside),  sum(up(m)) = sum(m * total),
// so lung_share(m, projected) equals lung_share(up(m), mask) up to rounding, at h x w cost.
struct ProjectedMask {
  cv::Mat inside;              // CV_64FC1 h x w: U^T(mask)
  cv::Mat total;               // CV_64FC1 h x w: U^T(1), the weight each grid cell gets
  double mask_fraction = 0.0;  // mask area / image area
};
// `mask` as for lung_share (CV_8UC1 non-zero = lung, or CV_32FC1 weights in [0,1]).
ProjectedMask project_mask(const cv::Mat& mask, cv::Size grid);
// `low_res_map`: CV_32FC1 h x w, non-negative, the size project_mask was given.
LungShare lung_share(const cv::Mat& low_res_map, const ProjectedMask& projected);

enum class GateFallback {
  Abstain,  // too few members passed: no decision, with a reason (default)
  All,      // too few passed: keep every member (the plain ensemble)
  Best,     // too few passed: keep the member with the highest in-lung share
};
// The one name table: "abstain" | "all" | "best" (the first is the default).
inline const EnumNames<GateFallback>& gate_fallback_names() {
  static const EnumNames<GateFallback> table(
      "gate fallback",
      {{GateFallback::Abstain, "abstain"}, {GateFallback::All, "all"}, {GateFallback::Best, "best"}});
  return table;
}
inline const char* to_string(GateFallback f) { return gate_fallback_names().to_string(f); }
// Case-insensitive; throws ConfigError listing the valid names otherwise.
inline GateFallback gate_fallback_from_string(const std::string& s) {
  return gate_fallback_names().from_string(s);
}

// What a member's map is judged by. `share` rewards big lungs (an adult's film, lungs ~50% of
// it, passes a uniform map at tau 0.5; a child's, ~25%, needs a map twice as focused);
// `lift` and `excess` compare the share with what a uniform map would put inside.
enum class GateCriterion {
  Share,   // share >= tau, tau in [0,1]
  Lift,    // share / mask_fraction >= tau, tau >= 0 (1 = uniform)
  Excess,  // (share - f) / (1 - f) >= tau, tau in [0,1] (0 = uniform, 1 = all inside)
};
inline const EnumNames<GateCriterion>& gate_criterion_names() {
  static const EnumNames<GateCriterion> table(
      "gate criterion",
      {{GateCriterion::Share, "share"}, {GateCriterion::Lift, "lift"}, {GateCriterion::Excess, "excess"}});
  return table;
}
inline const char* to_string(GateCriterion c) { return gate_criterion_names().to_string(c); }

// Hard: members whose score reaches tau vote, equally (or per the vote rule); the others are
// dropped. Soft: no member is dropped for its score: every judgeable member votes with the
// weight max(0, excess), its evidence of looking at the lungs beyond chance; a member whose
// map is no better than uniform (weight 0) does not count towards the quorum.
enum class GateMode { Hard, Soft };
inline const EnumNames<GateMode>& gate_mode_names() {
  static const EnumNames<GateMode> table("gate mode", {{GateMode::Hard, "hard"}, {GateMode::Soft, "soft"}});
  return table;
}
inline const char* to_string(GateMode m) { return gate_mode_names().to_string(m); }

// The member's score under `c` (share, lift or excess); NaN unless its status is Ok.
double gate_score(const LungShare& s, GateCriterion c);
// The soft gate's vote weight: max(0, excess) in [0,1]; 0 unless the status is Ok.
double evidence_weight(const LungShare& s);

// The one place the gate's defaults are written: a task file without `tau`/`fallback` gets
// these (config.h's EnsembleDefaults holds a GateOptions), and so does a bare GateOptions.
// quorum 1 is the bare gate's; a task's default quorum is EnsembleDefaults' (3).
struct GateOptions {
  GateCriterion criterion = GateCriterion::Share;
  double tau = 0.5;  // a member passes when its status is Ok and its score >= tau
  int quorum = 1;    // at least this many members must pass, else the fallback decides
  GateFallback fallback = GateFallback::Abstain;
  GateMode mode = GateMode::Hard;
};

// The one validation of tau: finite, in [0,1] for share and excess, in [0, 1e6] for lift.
// Returns tau; otherwise throws ConfigError "<what> must be <expected>, got <tau>" (`what`
// names the setting: "--tau", "tau"). The task loader, the classify request and gate_decide
// all call it.
std::string tau_expected(GateCriterion c);  // "a number in [0, 1]", ...
double checked_tau(GateCriterion c, double tau, const std::string& what = "gate threshold tau");

struct GateDecision {
  std::vector<bool> passed;  // per member: status Ok and score >= tau (soft: weight > 0)
  std::vector<double> scores;   // per member: gate_score under the criterion (NaN unless Ok)
  // Per member, the weight a weighted vote gives it: hard mode, its in-lung share; soft mode,
  // evidence_weight. Only kept members vote.
  std::vector<double> weights;
  bool soft = false;         // soft mode: the kept members' probabilities are weighted
  std::vector<bool> kept;    // per member: goes to the vote
  int num_passed = 0;
  bool fallback_used = false;
  bool abstain = false;  // no member kept: the ensemble gives no label for this image
  std::string reason;    // why the fallback was used / why it abstains; empty otherwise
  std::vector<int> kept_indices() const;
};

// One image, one LungShare per member (in member order). Throws ConfigError when tau fails
// checked_tau, quorum < 1, or quorum exceeds the number of members; std::invalid_argument
// when no members are given. Ties under Best go to the lowest member index.
GateDecision gate_decide(const std::vector<LungShare>& members, const GateOptions& options);

}  // namespace gradgate
