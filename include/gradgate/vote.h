#pragma once
// Combining the kept members' class probabilities into one decision. No torch here.
#include <string>
#include <vector>

#include "gradgate/enum_names.h"
#include "gradgate/gate.h"

namespace gradgate {

enum class VoteRule {
  Soft,      // mean of the members' probabilities (default)
  Hard,      // majority of the members' argmax labels; ties broken by mean probability
  Weighted,  // probabilities weighted by each member's in-lung share
};
// The one name table: "soft" | "hard" | "weighted" (the first is the default).
inline const EnumNames<VoteRule>& vote_rule_names() {
  static const EnumNames<VoteRule> table(
      "vote rule", {{VoteRule::Soft, "soft"}, {VoteRule::Hard, "hard"}, {VoteRule::Weighted, "weighted"}});
  return table;
}
inline const char* to_string(VoteRule r) { return vote_rule_names().to_string(r); }
// Case-insensitive; throws ConfigError listing the valid names otherwise.
inline VoteRule vote_rule_from_string(const std::string& s) { return vote_rule_names().from_string(s); }

struct VoteResult {
  int label = -1;            // class index; -1 when abstained
  double probability = 0.0;  // class_probs[label]
  // Per class: the combined probabilities (Soft: mean; Weighted: weighted mean; Hard: the mean,
  // which also breaks ties). Empty when abstained.
  std::vector<double> class_probs;
  std::vector<int> votes;  // Hard only: per class, number of members whose argmax it is
  bool abstained = false;
  std::string reason;  // why it abstained
  std::string note;    // a non-fatal remark (e.g. all weights zero -> equal weights)
};

// `probs`: one probability vector per voting member, all of the same length K >= 1.
// `weights`: Weighted only, one non-negative weight per member (others ignore it). Members
// with weight 0 do not count; when all weights are 0 the members count equally (note says so).
// No members -> abstained with a reason. Ties under Hard: most votes, then higher mean
// probability, then lower class index; within one member, argmax ties go to the lower index.
// Throws std::invalid_argument on ragged/empty vectors or negative/non-finite weights.
VoteResult vote(const std::vector<std::vector<double>>& probs, VoteRule rule,
                const std::vector<double>& weights = {});

// The ensemble's step: `member_probs` for ALL members (gate order); only those the decision
// keeps vote, weighted (Weighted rule, or any soft-gate decision) by the decision's weights:
// the in-lung share under the hard gate, the evidence under the soft one. A gate abstention
// carries over with its reason. Throws std::invalid_argument when the sizes differ.
VoteResult vote_gated(const std::vector<std::vector<double>>& member_probs,
                      const GateDecision& decision, VoteRule rule);

// The plain ensemble: every member votes, the gate is not asked (members whose map is empty
// count too). Soft and Hard as `rule`; Weighted has no gate weights to use here and is the
// soft vote. results.csv's plain_label and ensemble-bench's "plain" row are this.
VoteResult plain_vote(const std::vector<std::vector<double>>& member_probs, VoteRule rule);

}  // namespace gradgate
