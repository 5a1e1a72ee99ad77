#include "gradgate/vote.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

#include "gradgate/error.h"

namespace gradgate {

namespace {

// First index of the maximum (ties -> lower index).
int argmax(const std::vector<double>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

std::vector<double> weighted_mean(const std::vector<std::vector<double>>& probs,
                                  const std::vector<double>& w) {
  const size_t k = probs.front().size();
  std::vector<double> out(k, 0.0);
  double total = 0.0;
  for (size_t m = 0; m < probs.size(); ++m) {
    if (w[m] == 0.0) continue;
    total += w[m];
    for (size_t c = 0; c < k; ++c) out[c] += w[m] * probs[m][c];
  }
  for (auto& v : out) v /= total;
  return out;
}

}  // namespace

VoteResult vote(const std::vector<std::vector<double>>& probs, VoteRule rule,
                const std::vector<double>& weights) {
  VoteResult r;
  if (probs.empty()) {
    r.abstained = true;
    r.reason = "no member left to vote";
    return r;
  }
  const size_t k = probs.front().size();
  if (k == 0) throw std::invalid_argument("vote: empty probability vector");
  for (size_t m = 0; m < probs.size(); ++m)
    if (probs[m].size() != k)
      throw std::invalid_argument("vote: member " + std::to_string(m) + " has " +
                                  std::to_string(probs[m].size()) + " class probabilities, member 0 has " +
                                  std::to_string(k));

  const std::vector<double> equal(probs.size(), 1.0);
  switch (rule) {
    case VoteRule::Soft:
      r.class_probs = weighted_mean(probs, equal);
      r.label = argmax(r.class_probs);
      break;
    case VoteRule::Weighted: {
      if (weights.size() != probs.size())
        throw std::invalid_argument("vote: weighted rule needs one weight per member (" +
                                    std::to_string(probs.size()) + "), got " +
                                    std::to_string(weights.size()));
      double total = 0.0;
      for (double w : weights) {
        if (!(std::isfinite(w) && w >= 0.0))
          throw std::invalid_argument("vote: weights must be finite and non-negative");
        total += w;
      }
      if (total > 0.0) {
        r.class_probs = weighted_mean(probs, weights);
      } else {
        r.class_probs = weighted_mean(probs, equal);
        r.note = "all weights are zero; members counted equally";
      }
      r.label = argmax(r.class_probs);
      break;
    }
    case VoteRule::Hard: {
      r.class_probs = weighted_mean(probs, equal);
      r.votes.assign(k, 0);
      for (const auto& p : probs) ++r.votes[argmax(p)];
      int best = 0;
      for (size_t c = 1; c < k; ++c) {
        const bool more = r.votes[c] > r.votes[best];
        const bool tie_higher_p = r.votes[c] == r.votes[best] && r.class_probs[c] > r.class_probs[best];
        if (more || tie_higher_p) best = static_cast<int>(c);
      }
      r.label = best;
      break;
    }
  }
  r.probability = r.class_probs[r.label];
  return r;
}

VoteResult vote_gated(const std::vector<std::vector<double>>& member_probs,
                      const GateDecision& decision, VoteRule rule) {
  if (member_probs.size() != decision.kept.size() || decision.weights.size() != decision.kept.size())
    throw std::invalid_argument("vote_gated: " + std::to_string(member_probs.size()) +
                                " probability vectors and " +
                                std::to_string(decision.weights.size()) +
                                " weights for a gate decision over " +
                                std::to_string(decision.kept.size()) + " members");
  if (decision.abstain) {
    VoteResult r;
    r.abstained = true;
    r.reason = decision.reason;
    return r;
  }
  std::vector<std::vector<double>> probs;
  std::vector<double> weights;
  for (size_t i = 0; i < decision.kept.size(); ++i) {
    if (!decision.kept[i]) continue;
    probs.push_back(member_probs[i]);
    weights.push_back(decision.weights[i]);  // share when hard, evidence when soft
  }
  // The soft gate weighs every vote by its evidence: a plain mean becomes a weighted one (a
  // hard vote stays a count of labels).
  if (decision.soft && rule == VoteRule::Soft) rule = VoteRule::Weighted;
  VoteResult r = vote(probs, rule, weights);
  if (decision.fallback_used && !r.abstained)
    r.note = decision.reason + (r.note.empty() ? "" : "; " + r.note);
  return r;
}

VoteResult plain_vote(const std::vector<std::vector<double>>& member_probs, VoteRule rule) {
  return vote(member_probs, rule == VoteRule::Hard ? VoteRule::Hard : VoteRule::Soft);
}

}  // namespace gradgate
