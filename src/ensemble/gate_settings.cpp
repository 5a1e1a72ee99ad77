// Which gate a classify run uses: CLI > the models folder's tuned gate > the task's YAML.
// Core (no torch): the precedence is tested without building a network.
#include <algorithm>

#include "gradgate/classify.h"
#include "gradgate/error.h"

namespace gradgate {

ResolvedGate resolve_gate(const ClassifyRequest& rq, const GateOptions& task_gate, VoteRule task_vote,
                          const std::optional<TunedGate>& tuned, size_t members, const std::string& tuned_file) {
  ResolvedGate r;
  r.gate = tuned ? tuned->gate : task_gate;
  r.vote = tuned ? tuned->vote : task_vote;
  r.source = tuned ? "tuned (" + tuned_file + ")" : "task";
  if (rq.criterion) r.gate.criterion = *rq.criterion;
  if (rq.gate_mode) r.gate.mode = *rq.gate_mode;
  // tau's range depends on the criterion: checked once both are known. The tau beneath
  // (checked when its file was read) again only when --gate changed the criterion under it.
  if (rq.tau) {
    r.gate.tau = checked_tau(r.gate.criterion, *rq.tau, "--tau");
  } else if (rq.criterion) {
    checked_tau(r.gate.criterion, r.gate.tau, std::string("the ") + (tuned ? "tuned" : "task's") +
                " tau under --gate " + to_string(r.gate.criterion));
  }
  if (rq.quorum) {
    if (*rq.quorum < 1) throw ConfigError("--quorum must be >= 1, got " + std::to_string(*rq.quorum));
    r.gate.quorum = *rq.quorum;
  }
  // A quorum larger than the members left (e.g. --members a,b) means "all of them".
  r.gate.quorum = std::min<int>(r.gate.quorum, static_cast<int>(members));
  if (rq.fallback) r.gate.fallback = *rq.fallback;
  if (rq.vote) r.vote = *rq.vote;
  return r;
}

}  // namespace gradgate
