// The lung gate: in-lung share and lift on hand-made maps and masks, and the keep/abstain
// decision with its quorum and fallbacks, including every edge case.
#include <gtest/gtest.h>

#include <limits>

#include "gradgate/error.h"
#include "gradgate/gate.h"

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
