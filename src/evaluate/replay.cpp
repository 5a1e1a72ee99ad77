// The gate and the vote replayed from a run's per-member scores: the same gate_decide and
// vote_gated the ensemble ran, so a replay at the run's own setting gives the run's decisions.
#include <cstdio>

#include "gradgate/evaluate.h"

namespace gradgate {

std::string GateSetting::describe() const {
  if (plain) return std::string("plain ") + to_string(vote);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s>=%g %s q%d %s %s", to_string(gate.criterion), gate.tau, to_string(gate.mode),
                gate.quorum, to_string(gate.fallback), to_string(vote));
  return buf;
}

GateSetting run_setting(const RunSettings& run) {
  GateSetting s;
  s.gate = run.gate;
  s.vote = run.vote;
  return s;
}

bool gate_is_off(const GateSetting& s) {
  return s.plain || (!s.faithful && s.gate.mode == GateMode::Hard && s.gate.criterion == GateCriterion::Share && s.gate.tau <= 0.0);
}

Decisions replay(const RunResults& results, const GateSetting& s) {
  const size_t n = results.rows.size();
  Decisions d;
  d.label.assign(n, -1);
  d.probs.assign(n, {});
  d.kept.assign(n, 0);
  d.member_kept.assign(n, {});
  d.member_passed.assign(n, {});
  const bool off = gate_is_off(s);
  std::vector<std::vector<double>> probs;
  std::vector<LungShare> shares;
  for (size_t i = 0; i < n; ++i) {
    const auto& row = results.rows[i];
    const size_t m = row.members.size();
    probs.resize(m);
    shares.resize(m);
    for (size_t j = 0; j < m; ++j) {
      probs[j] = row.members[j].probs;
      shares[j] = row.members[j].share;
    }
    VoteResult v;
    if (off) {
      // Every member votes (empty maps too); a weighted vote still weighs by the share.
      if (s.vote == VoteRule::Weighted && !s.plain) {
        std::vector<double> w(m);
        for (size_t j = 0; j < m; ++j) w[j] = shares[j].status == GateStatus::Ok ? shares[j].share : 0.0;
        v = vote(probs, VoteRule::Weighted, w);
      } else {
        v = plain_vote(probs, s.vote);
      }
      d.member_kept[i].assign(m, 1);
      d.member_passed[i].assign(m, 1);
      d.kept[i] = static_cast<int>(m);
    } else {
      const GateDecision g = gate_decide(shares, s.gate);
      v = vote_gated(probs, g, s.vote);
      d.member_kept[i].assign(g.kept.begin(), g.kept.end());
      d.member_passed[i].assign(g.passed.begin(), g.passed.end());
      for (bool k : g.kept) d.kept[i] += k ? 1 : 0;
    }
    if (!v.abstained) {
      d.label[i] = v.label;
      d.probs[i] = std::move(v.class_probs);
    } else {
      d.kept[i] = 0;
    }
  }
  return d;
}

size_t replay_mismatches(const RunResults& results, const Decisions& d) {
  size_t bad = 0;
  for (size_t i = 0; i < results.rows.size(); ++i)
    if (results.rows[i].run_label != d.label[i]) ++bad;
  return bad;
}

}  // namespace gradgate
