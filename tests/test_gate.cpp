// The lung gate: in-lung share and lift on hand-made maps and masks, and the keep/abstain
// decision with its quorum and fallbacks, including every edge case.
#include <gtest/gtest.h>

#include <limits>

#include "gradgate/error.h"
#include "gradgate/gate.h"
#include "gradgate/vote.h"

#include <cmath>
#include <opencv2/imgproc.hpp>

using namespace gradgate;

namespace {

// 10x10 mask whose left `cols` columns are lung.
cv::Mat left_mask(int cols, int size = 10) {
  cv::Mat m = cv::Mat::zeros(size, size, CV_8UC1);
  if (cols > 0) m.colRange(0, cols).setTo(255);
  return m;
}

LungShare ok(double share) {
  LungShare s;
  s.share = share;
  s.mask_fraction = 0.5;
  s.lift = share / 0.5;
  s.excess = (share - 0.5) / 0.5;
  return s;
}
LungShare with_status(GateStatus st) {
  LungShare s;
  s.status = st;
  return s;
}

}  // namespace

// ---- lung_share ----

TEST(GateShare, UniformMapHasLiftOne) {
  const cv::Mat map(10, 10, CV_32FC1, cv::Scalar(0.7));
  const auto s = lung_share(map, left_mask(3));
  EXPECT_EQ(s.status, GateStatus::Ok);
  EXPECT_NEAR(s.mask_fraction, 0.3, 1e-12);
  EXPECT_NEAR(s.share, 0.3, 1e-12);
  EXPECT_NEAR(s.lift, 1.0, 1e-12);
}

TEST(GateShare, MapInsideOutsideAndSplit) {
  const cv::Mat mask = left_mask(4);  // 40% lung
  cv::Mat inside = cv::Mat::zeros(10, 10, CV_32FC1);
  inside.at<float>(5, 1) = 2.f;
  inside.at<float>(0, 3) = 1.f;
  auto s = lung_share(inside, mask);
  EXPECT_DOUBLE_EQ(s.share, 1.0);
  EXPECT_NEAR(s.lift, 2.5, 1e-12);  // 1 / 0.4

  cv::Mat outside = cv::Mat::zeros(10, 10, CV_32FC1);
  outside.at<float>(5, 9) = 3.f;
  s = lung_share(outside, mask);
  EXPECT_EQ(s.status, GateStatus::Ok);
  EXPECT_DOUBLE_EQ(s.share, 0.0);
  EXPECT_DOUBLE_EQ(s.lift, 0.0);

  cv::Mat split = inside + outside;  // 3 inside, 3 outside
  s = lung_share(split, mask);
  EXPECT_NEAR(s.share, 0.5, 1e-12);
  EXPECT_NEAR(s.lift, 1.25, 1e-12);
}

TEST(GateShare, ScaleFree) {
  cv::Mat map = cv::Mat::zeros(10, 10, CV_32FC1);
  map.at<float>(2, 2) = 1.f;
  map.at<float>(2, 8) = 3.f;
  const auto a = lung_share(map, left_mask(5));
  const auto b = lung_share(map * 1000.f, left_mask(5));
  EXPECT_NEAR(a.share, 0.25, 1e-12);
  EXPECT_NEAR(b.share, a.share, 1e-12);
}

TEST(GateShare, EmptyMapIsReportedNotDivided) {
  const auto s = lung_share(cv::Mat::zeros(10, 10, CV_32FC1), left_mask(5));
  EXPECT_EQ(s.status, GateStatus::EmptyMap);
  EXPECT_EQ(s.share, 0.0);
  EXPECT_EQ(s.lift, 0.0);
  EXPECT_NEAR(s.mask_fraction, 0.5, 1e-12);
}

TEST(GateShare, EmptyMaskIsReportedBeforeEmptyMap) {
  const cv::Mat map(10, 10, CV_32FC1, cv::Scalar(1));
  auto s = lung_share(map, left_mask(0));
  EXPECT_EQ(s.status, GateStatus::EmptyMask);
  EXPECT_EQ(s.share, 0.0);
  EXPECT_EQ(s.mask_fraction, 0.0);
  s = lung_share(cv::Mat::zeros(10, 10, CV_32FC1), left_mask(0));
  EXPECT_EQ(s.status, GateStatus::EmptyMask);
}

TEST(GateShare, FullMaskGivesShareOneLiftOne) {
  cv::Mat map = cv::Mat::zeros(10, 10, CV_32FC1);
  map.at<float>(9, 9) = 5.f;
  const auto s = lung_share(map, left_mask(10));
  EXPECT_DOUBLE_EQ(s.share, 1.0);
  EXPECT_DOUBLE_EQ(s.lift, 1.0);
}

TEST(GateShare, AnyNonZeroByteIsLungAndSoftMasksWeigh) {
  cv::Mat mask = cv::Mat::zeros(10, 10, CV_8UC1);
  mask.colRange(0, 5).setTo(1);  // 0/1 masks count like 0/255
  const cv::Mat map(10, 10, CV_32FC1, cv::Scalar(1));
  EXPECT_NEAR(lung_share(map, mask).share, 0.5, 1e-12);

  const cv::Mat soft(10, 10, CV_32FC1, cv::Scalar(0.25));
  const auto s = lung_share(map, soft);
  EXPECT_NEAR(s.mask_fraction, 0.25, 1e-7);
  EXPECT_NEAR(s.share, 0.25, 1e-7);
  EXPECT_NEAR(s.lift, 1.0, 1e-6);

  cv::Mat map64(10, 10, CV_64FC1, cv::Scalar(2));
  EXPECT_NEAR(lung_share(map64, left_mask(7)).share, 0.7, 1e-12);
}

TEST(GateShare, RejectsMismatchedOrInvalidInput) {
  const cv::Mat map(10, 10, CV_32FC1, cv::Scalar(1));
  EXPECT_THROW(lung_share(map, left_mask(5, 12)), std::invalid_argument);
  EXPECT_THROW(lung_share(cv::Mat(), left_mask(5)), std::invalid_argument);
  cv::Mat neg = map.clone();
  neg.at<float>(3, 3) = -0.1f;
  EXPECT_THROW(lung_share(neg, left_mask(5)), std::invalid_argument);
  cv::Mat nan = map.clone();
  nan.at<float>(3, 3) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(lung_share(nan, left_mask(5)), std::invalid_argument);
  EXPECT_THROW(lung_share(map, cv::Mat(10, 10, CV_32FC1, cv::Scalar(1.5))), std::invalid_argument);
  EXPECT_THROW(lung_share(map, cv::Mat(10, 10, CV_16UC1, cv::Scalar(1))), std::invalid_argument);
  EXPECT_THROW(lung_share(cv::Mat(10, 10, CV_8UC1, cv::Scalar(1)), left_mask(5)),
               std::invalid_argument);
}

// ---- gate_decide ----

TEST(GateDecide, KeepsMembersAtOrAboveTau) {
  GateOptions o;
  o.tau = 0.5;
  const auto d = gate_decide({ok(0.9), ok(0.5), ok(0.49), with_status(GateStatus::EmptyMap)}, o);
  EXPECT_EQ(d.kept, (std::vector<bool>{true, true, false, false}));
  EXPECT_EQ(d.passed, d.kept);
  EXPECT_EQ(d.num_passed, 2);
  EXPECT_FALSE(d.fallback_used);
  EXPECT_FALSE(d.abstain);
  EXPECT_TRUE(d.reason.empty());
  EXPECT_EQ(d.kept_indices(), (std::vector<int>{0, 1}));
}

TEST(GateDecide, TauZeroPassesEveryJudgeableMemberButNotEmptyMaps) {
  GateOptions o;
  o.tau = 0.0;
  const auto d = gate_decide({ok(0.0), with_status(GateStatus::EmptyMap), ok(0.2)}, o);
  EXPECT_EQ(d.kept, (std::vector<bool>{true, false, true}));
}

TEST(GateDecide, QuorumNotMetAbstainsWithReason) {
  GateOptions o;
  o.tau = 0.6;
  o.quorum = 2;
  const auto d = gate_decide({ok(0.7), ok(0.3), with_status(GateStatus::EmptyMap)}, o);
  EXPECT_TRUE(d.abstain);
  EXPECT_TRUE(d.fallback_used);
  EXPECT_EQ(d.num_passed, 1);
  EXPECT_EQ(d.passed, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(d.kept, (std::vector<bool>{false, false, false}));
  EXPECT_NE(d.reason.find("1 of 3"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("quorum is 2"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("1 with an empty Grad-CAM map"), std::string::npos) << d.reason;
}

TEST(GateDecide, QuorumMetExactly) {
  GateOptions o;
  o.tau = 0.6;
  o.quorum = 2;
  const auto d = gate_decide({ok(0.7), ok(0.6), ok(0.1)}, o);
  EXPECT_FALSE(d.abstain);
  EXPECT_EQ(d.kept, (std::vector<bool>{true, true, false}));
}

TEST(GateDecide, FallbackAllKeepsEveryMember) {
  GateOptions o;
  o.tau = 0.9;
  o.fallback = GateFallback::All;
  const auto d = gate_decide({ok(0.2), with_status(GateStatus::EmptyMap), ok(0.5)}, o);
  EXPECT_FALSE(d.abstain);
  EXPECT_TRUE(d.fallback_used);
  EXPECT_EQ(d.kept, (std::vector<bool>{true, true, true}));
  EXPECT_NE(d.reason.find("all members"), std::string::npos) << d.reason;
}

TEST(GateDecide, FallbackBestKeepsHighestShareFirstOnTies) {
  GateOptions o;
  o.tau = 0.9;
  o.fallback = GateFallback::Best;
  auto d = gate_decide({ok(0.2), ok(0.6), with_status(GateStatus::EmptyMap), ok(0.4)}, o);
  EXPECT_FALSE(d.abstain);
  EXPECT_EQ(d.kept, (std::vector<bool>{false, true, false, false}));
  d = gate_decide({ok(0.3), ok(0.6), ok(0.6)}, o);
  EXPECT_EQ(d.kept_indices(), (std::vector<int>{1}));
}

TEST(GateDecide, FallbackBestWithNothingJudgeableAbstains) {
  GateOptions o;
  o.fallback = GateFallback::Best;
  const auto d = gate_decide({with_status(GateStatus::EmptyMap), with_status(GateStatus::EmptyMap)}, o);
  EXPECT_TRUE(d.abstain);
  EXPECT_EQ(d.kept_indices().size(), 0u);
  EXPECT_NE(d.reason.find("no member with a judgeable map"), std::string::npos) << d.reason;
}

TEST(GateDecide, EmptyMaskMeansTheGateCannotJudge) {
  const std::vector<LungShare> m(3, with_status(GateStatus::EmptyMask));
  GateOptions o;
  auto d = gate_decide(m, o);
  EXPECT_TRUE(d.abstain);
  EXPECT_NE(d.reason.find("lung mask is empty"), std::string::npos) << d.reason;
  o.fallback = GateFallback::All;
  d = gate_decide(m, o);
  EXPECT_FALSE(d.abstain);
  EXPECT_EQ(d.kept, (std::vector<bool>{true, true, true}));
  EXPECT_NE(d.reason.find("lung mask is empty"), std::string::npos) << d.reason;
  o.fallback = GateFallback::Best;
  EXPECT_TRUE(gate_decide(m, o).abstain);
}

TEST(GateDecide, RejectsBadOptions) {
  const std::vector<LungShare> m = {ok(0.5), ok(0.5)};
  GateOptions o;
  o.tau = -0.01;
  EXPECT_THROW(gate_decide(m, o), ConfigError);
  o.tau = 1.01;
  EXPECT_THROW(gate_decide(m, o), ConfigError);
  o.tau = 0.5;
  o.quorum = 0;
  EXPECT_THROW(gate_decide(m, o), ConfigError);
  o.quorum = 3;
  EXPECT_THROW(gate_decide(m, o), ConfigError);
  o.quorum = 1;
  EXPECT_THROW(gate_decide({}, o), std::invalid_argument);
  EXPECT_EQ(gate_fallback_from_string("Best"), GateFallback::Best);
  EXPECT_THROW(gate_fallback_from_string("random"), ConfigError);
}

TEST(GateDecide, EndToEndFromMaps) {
  // Member 0 looks at the lung (left half), member 1 at the corner outside, member 2 is blank.
  const cv::Mat mask = left_mask(5);
  cv::Mat m0 = cv::Mat::zeros(10, 10, CV_32FC1), m1 = m0.clone(), m2 = m0.clone();
  m0.colRange(1, 4).setTo(1.f);
  m1.at<float>(0, 9) = 1.f;
  std::vector<LungShare> shares = {lung_share(m0, mask), lung_share(m1, mask), lung_share(m2, mask)};
  const auto d = gate_decide(shares, GateOptions{});
  EXPECT_EQ(d.kept, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(shares[2].status, GateStatus::EmptyMap);
}

// ---- criteria: share, lift, excess; the soft gate ----

namespace {

// A square mask of `side`, lung in its left `cols` columns; maps drawn by hand on it.
GateOptions criterion(GateCriterion c, double tau) {
  GateOptions o;
  o.criterion = c;
  o.tau = tau;
  return o;
}

}  // namespace

TEST(GateCriteria, MapAllInsideTheMaskPassesEveryCriterion) {
  for (int cols : {2, 5, 8}) {  // lungs 20%, 50%, 80% of the film
    SCOPED_TRACE(cols);
    cv::Mat map = cv::Mat::zeros(10, 10, CV_32FC1);
    map.colRange(0, cols).setTo(1.0f);
    map.at<float>(4, 0) = 5.0f;  // not uniform inside either
    const LungShare s = lung_share(map, left_mask(cols));
    EXPECT_DOUBLE_EQ(s.share, 1.0);
    EXPECT_NEAR(s.excess, 1.0, 1e-12);
    // The strictest threshold each criterion allows at this mask size still passes.
    const double f = s.mask_fraction;
    for (const auto& o : {criterion(GateCriterion::Share, 1.0), criterion(GateCriterion::Lift, 1.0 / f - 1e-9),
                          criterion(GateCriterion::Excess, 1.0 - 1e-9)})
      EXPECT_TRUE(gate_decide({s}, o).passed[0]) << to_string(o.criterion);
  }
}

TEST(GateCriteria, UniformMapFailsLiftAndExcessAtAnyMaskSizeButShareFollowsTheLungs) {
  const cv::Mat map(20, 20, CV_32FC1, cv::Scalar(0.3));
  int share_passed = 0;
  for (int cols = 1; cols < 20; ++cols) {
    SCOPED_TRACE(cols);
    const LungShare s = lung_share(map, left_mask(cols, 20));
    EXPECT_NEAR(s.lift, 1.0, 1e-9);
    EXPECT_NEAR(s.excess, 0.0, 1e-9);
    EXPECT_FALSE(gate_decide({s}, criterion(GateCriterion::Lift, 1.1)).passed[0]);
    EXPECT_FALSE(gate_decide({s}, criterion(GateCriterion::Excess, 0.05)).passed[0]);
    share_passed += gate_decide({s}, criterion(GateCriterion::Share, 0.5)).passed[0];
  }
  // The flaw `share` has: a uniform map passes once the lungs cover half the film.
  EXPECT_EQ(share_passed, 10);
}

TEST(GateCriteria, ExcessIsNegativeOutsideAndZeroForAFullMask) {
  cv::Mat map = cv::Mat::zeros(10, 10, CV_32FC1);
  map.colRange(6, 10).setTo(1.0f);  // all mass right of a 4-column lung
  const LungShare out = lung_share(map, left_mask(4));
  EXPECT_DOUBLE_EQ(out.share, 0.0);
  EXPECT_NEAR(out.excess, -0.4 / 0.6, 1e-12);
  EXPECT_DOUBLE_EQ(evidence_weight(out), 0.0);
  const LungShare full = lung_share(map, left_mask(10));
  EXPECT_DOUBLE_EQ(full.excess, 0.0);  // nothing to tell when the lungs are everywhere
  // The grid path (projected mask) gives the same excess as the full-size map.
  const ProjectedMask p = project_mask(left_mask(4, 40), cv::Size(10, 10));
  cv::Mat low = cv::Mat::zeros(10, 10, CV_32FC1);
  low.colRange(0, 2).setTo(1.0f);
  cv::Mat up;
  cv::resize(low, up, cv::Size(40, 40), 0, 0, cv::INTER_LINEAR);
  EXPECT_NEAR(lung_share(low, p).excess, lung_share(up, left_mask(4, 40)).excess, 1e-4);
}

TEST(GateCriteria, TauRangeDependsOnTheCriterion) {
  EXPECT_DOUBLE_EQ(checked_tau(GateCriterion::Lift, 2.5, "--tau"), 2.5);
  EXPECT_THROW(checked_tau(GateCriterion::Share, 2.5, "--tau"), ConfigError);
  EXPECT_THROW(checked_tau(GateCriterion::Excess, 1.5, "--tau"), ConfigError);
  EXPECT_THROW(checked_tau(GateCriterion::Lift, -0.5, "--tau"), ConfigError);
  EXPECT_THROW(checked_tau(GateCriterion::Lift, std::nan(""), "--tau"), ConfigError);
  EXPECT_THROW(gate_decide({ok(0.9)}, criterion(GateCriterion::Share, 1.5)), ConfigError);
  EXPECT_EQ(gate_criterion_names().from_string("LIFT"), GateCriterion::Lift);
  EXPECT_EQ(gate_mode_names().from_string("soft"), GateMode::Soft);
}

TEST(GateCriteria, ScoresAndReasonNameTheCriterion) {
  GateOptions o = criterion(GateCriterion::Lift, 1.5);
  o.quorum = 2;
  // share 0.9 (lift 1.8) passes, share 0.6 (lift 1.2) does not: one of two, quorum 2.
  const GateDecision d = gate_decide({ok(0.9), ok(0.6), with_status(GateStatus::EmptyMap)}, o);
  EXPECT_EQ(d.passed, (std::vector<bool>{true, false, false}));
  EXPECT_NEAR(d.scores[0], 1.8, 1e-12);
  EXPECT_TRUE(std::isnan(d.scores[2]));
  EXPECT_TRUE(d.abstain);
  EXPECT_NE(d.reason.find("lift >= 1.5"), std::string::npos) << d.reason;
}

TEST(GateSoft, NoMemberDroppedForItsScoreVotesWeighedByEvidence) {
  GateOptions o;
  o.mode = GateMode::Soft;
  o.tau = 0.99;  // not used to drop anyone in soft mode
  // excess 0.8, 0.2, -0.4 (outside), and an empty map.
  const GateDecision d = gate_decide({ok(0.9), ok(0.6), ok(0.3), with_status(GateStatus::EmptyMap)}, o);
  EXPECT_TRUE(d.soft);
  EXPECT_EQ(d.kept, (std::vector<bool>{true, true, false, false}));
  EXPECT_NEAR(d.weights[0], 0.8, 1e-12);
  EXPECT_NEAR(d.weights[1], 0.2, 1e-12);
  EXPECT_DOUBLE_EQ(d.weights[2], 0.0);
  // The soft vote is the evidence-weighted mean: (0.8 * 1.0 + 0.2 * 0.0) / 1.0 for class 0.
  const VoteResult v = vote_gated({{1.0, 0.0}, {0.0, 1.0}, {0.0, 1.0}, {0.0, 1.0}}, d, VoteRule::Soft);
  ASSERT_FALSE(v.abstained);
  EXPECT_EQ(v.label, 0);
  EXPECT_NEAR(v.class_probs[0], 0.8, 1e-12);
}
