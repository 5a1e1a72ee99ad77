// Voting rules: soft, hard (ties by mean probability), weighted (zero weights), gate abstention.
#include <gtest/gtest.h>

#include "gradgate/error.h"
#include "gradgate/vote.h"

using namespace gradgate;

namespace {
LungShare ok(double share) {
  LungShare s;
  s.share = share;
  s.mask_fraction = 0.4;
  s.lift = share / 0.4;
  return s;
}
}  // namespace

TEST(Vote, SoftIsTheMeanOfProbabilities) {
  const auto r = vote({{0.6, 0.3, 0.1}, {0.2, 0.5, 0.3}, {0.1, 0.7, 0.2}}, VoteRule::Soft);
  ASSERT_FALSE(r.abstained);
  ASSERT_EQ(r.class_probs.size(), 3u);
  EXPECT_NEAR(r.class_probs[0], 0.3, 1e-12);
  EXPECT_NEAR(r.class_probs[1], 0.5, 1e-12);
  EXPECT_NEAR(r.class_probs[2], 0.2, 1e-12);
  EXPECT_EQ(r.label, 1);
  EXPECT_NEAR(r.probability, 0.5, 1e-12);
  EXPECT_TRUE(r.votes.empty());
}

TEST(Vote, SoftTieGoesToLowerClass) {
  const auto r = vote({{0.6, 0.4}, {0.4, 0.6}}, VoteRule::Soft);
  EXPECT_EQ(r.label, 0);
  EXPECT_NEAR(r.probability, 0.5, 1e-12);
}

TEST(Vote, HardMajorityOverridesConfidence) {
  // Two members mildly say 1, one strongly says 0: soft picks 0, hard picks 1.
  const std::vector<std::vector<double>> p = {{0.45, 0.55}, {0.45, 0.55}, {0.99, 0.01}};
  EXPECT_EQ(vote(p, VoteRule::Soft).label, 0);
  const auto r = vote(p, VoteRule::Hard);
  EXPECT_EQ(r.label, 1);
  EXPECT_EQ(r.votes, (std::vector<int>{1, 2}));
  EXPECT_NEAR(r.probability, (0.55 + 0.55 + 0.01) / 3, 1e-12);
}

TEST(Vote, HardTieBrokenByMeanProbability) {
  // One vote each for 0 and 1; class 1 has the higher mean probability (0.65 vs 0.35).
  auto r = vote({{0.6, 0.4}, {0.1, 0.9}}, VoteRule::Hard);
  EXPECT_EQ(r.votes, (std::vector<int>{1, 1}));
  EXPECT_EQ(r.label, 1);
  EXPECT_NEAR(r.probability, 0.65, 1e-12);
  // Mirror image: class 0 wins.
  r = vote({{0.9, 0.1}, {0.4, 0.6}}, VoteRule::Hard);
  EXPECT_EQ(r.label, 0);
  // Three classes, 1-1-1 tie: highest mean probability wins, not the first index.
  r = vote({{0.5, 0.3, 0.2}, {0.3, 0.4, 0.3}, {0.0, 0.45, 0.55}}, VoteRule::Hard);
  EXPECT_EQ(r.votes, (std::vector<int>{1, 1, 1}));
  EXPECT_EQ(r.label, 1);  // means 0.267, 0.383, 0.35
  // Tied votes and tied means: lower index.
  r = vote({{0.7, 0.3}, {0.3, 0.7}}, VoteRule::Hard);
  EXPECT_EQ(r.label, 0);
}

TEST(Vote, HardVoteWithinMemberTieGoesToLowerClass) {
  const auto r = vote({{0.5, 0.5}}, VoteRule::Hard);
  EXPECT_EQ(r.votes, (std::vector<int>{1, 0}));
  EXPECT_EQ(r.label, 0);
}

TEST(Vote, WeightedByShare) {
  const std::vector<std::vector<double>> p = {{0.8, 0.2}, {0.1, 0.9}};
  const auto r = vote(p, VoteRule::Weighted, {0.75, 0.25});
  EXPECT_NEAR(r.class_probs[0], 0.75 * 0.8 + 0.25 * 0.1, 1e-12);
  EXPECT_NEAR(r.class_probs[1], 0.75 * 0.2 + 0.25 * 0.9, 1e-12);
  EXPECT_EQ(r.label, 0);
  // Weights need not sum to one.
  const auto r2 = vote(p, VoteRule::Weighted, {3.0, 1.0});
  EXPECT_NEAR(r2.class_probs[0], r.class_probs[0], 1e-12);
  EXPECT_TRUE(r.note.empty());
}

TEST(Vote, WeightedZeroWeightMemberDoesNotCount) {
  const auto r = vote({{0.3, 0.7}, {0.9, 0.1}}, VoteRule::Weighted, {0.4, 0.0});
  EXPECT_NEAR(r.class_probs[0], 0.3, 1e-12);
  EXPECT_NEAR(r.class_probs[1], 0.7, 1e-12);
  EXPECT_EQ(r.label, 1);
}

TEST(Vote, WeightedAllZeroFallsBackToEqualWeightsWithNote) {
  const auto r = vote({{0.3, 0.7}, {0.9, 0.1}}, VoteRule::Weighted, {0.0, 0.0});
  EXPECT_FALSE(r.abstained);
  EXPECT_NEAR(r.class_probs[0], 0.6, 1e-12);
  EXPECT_EQ(r.label, 0);
  EXPECT_FALSE(r.note.empty());
}

TEST(Vote, NoMembersAbstains) {
  for (auto rule : {VoteRule::Soft, VoteRule::Hard, VoteRule::Weighted}) {
    const auto r = vote({}, rule);
    EXPECT_TRUE(r.abstained);
    EXPECT_EQ(r.label, -1);
    EXPECT_FALSE(r.reason.empty());
  }
}

TEST(Vote, RejectsBadInput) {
  EXPECT_THROW(vote({{0.5, 0.5}, {1.0}}, VoteRule::Soft), std::invalid_argument);
  EXPECT_THROW(vote({{}}, VoteRule::Soft), std::invalid_argument);
  EXPECT_THROW(vote({{0.5, 0.5}}, VoteRule::Weighted, {}), std::invalid_argument);
  EXPECT_THROW(vote({{0.5, 0.5}}, VoteRule::Weighted, {-1.0}), std::invalid_argument);
  EXPECT_EQ(vote_rule_from_string("Weighted"), VoteRule::Weighted);
  EXPECT_THROW(vote_rule_from_string("borda"), ConfigError);
}

TEST(VoteGated, OnlyKeptMembersVoteWeightedByShare) {
  const std::vector<std::vector<double>> p = {{0.9, 0.1}, {0.2, 0.8}, {0.3, 0.7}};
  const std::vector<LungShare> s = {ok(0.1), ok(0.8), ok(0.6)};
  GateOptions o;
  o.tau = 0.5;
  const auto d = gate_decide(s, o);
  ASSERT_EQ(d.kept, (std::vector<bool>{false, true, true}));
  auto r = vote_gated(p, d, VoteRule::Soft);
  EXPECT_NEAR(r.class_probs[1], 0.75, 1e-12);
  r = vote_gated(p, d, VoteRule::Weighted);
  EXPECT_NEAR(r.class_probs[1], (0.8 * 0.8 + 0.6 * 0.7) / 1.4, 1e-12);
  EXPECT_EQ(r.label, 1);
}

TEST(VoteGated, GateAbstentionCarriesItsReason) {
  const std::vector<std::vector<double>> p = {{0.9, 0.1}, {0.2, 0.8}};
  const std::vector<LungShare> s = {ok(0.1), ok(0.2)};
  const auto d = gate_decide(s, GateOptions{});
  ASSERT_TRUE(d.abstain);
  const auto r = vote_gated(p, d, VoteRule::Soft);
  EXPECT_TRUE(r.abstained);
  EXPECT_EQ(r.label, -1);
  EXPECT_EQ(r.reason, d.reason);
}

TEST(VoteGated, FallbackAllWithEmptyMapsWeighsThemZero) {
  // Fallback keeps everyone; the empty-map member gets weight 0 under the weighted rule.
  std::vector<LungShare> s = {ok(0.2), ok(0.3)};
  s.push_back(LungShare{GateStatus::EmptyMap, 0.0, 0.0, 0.4});
  GateOptions o;
  o.fallback = GateFallback::All;
  const auto d = gate_decide(s, o);
  ASSERT_TRUE(d.fallback_used);
  const auto r = vote_gated({{0.6, 0.4}, {0.4, 0.6}, {0.0, 1.0}}, d, VoteRule::Weighted);
  EXPECT_NEAR(r.class_probs[0], (0.2 * 0.6 + 0.3 * 0.4) / 0.5, 1e-12);
  EXPECT_NE(r.note.find("fallback"), std::string::npos) << r.note;
  EXPECT_THROW(vote_gated({{0.5, 0.5}}, d, VoteRule::Soft), std::invalid_argument);
}
