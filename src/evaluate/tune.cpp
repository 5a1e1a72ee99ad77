// ensemble-tune: every setting of the grid replayed on the validation rows, one chosen by the
// stated rule, written as tune.csv / tune.json and, when asked, into the models manifest.
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "gradgate/bench.h"
#include "gradgate/common/atomic_file.h"
#include "gradgate/common/utc_time.h"
#include "gradgate/error.h"
#include "gradgate/tune.h"
#include "report/format.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace gradgate {

namespace {

const std::vector<double>& taus_of(const TuneGrid& g, GateCriterion c, std::vector<double>& fallback) {
  const auto& given = c == GateCriterion::Share ? g.share_taus : c == GateCriterion::Lift ? g.lift_taus : g.excess_taus;
  if (!given.empty()) return given;
  fallback = curve_grid(c);
  return fallback;
}

// a is better than b under the rule (both above the floor, or both below it).
bool better(const TuneRow& a, const TuneRow& b, bool by_coverage_only) {
  const auto val = [](double v) { return std::isfinite(v) ? v : -1.0; };
  if (!by_coverage_only) {
    const double da = val(a.m.balanced_accuracy), db = val(b.m.balanced_accuracy);
    if (std::abs(da - db) > 1e-12) return da > db;
  }
  const double ca = val(a.m.coverage), cb = val(b.m.coverage);
  if (std::abs(ca - cb) > 1e-12) return ca > cb;
  if (by_coverage_only) {
    const double da = val(a.m.balanced_accuracy), db = val(b.m.balanced_accuracy);
    if (std::abs(da - db) > 1e-12) return da > db;
  }
  return a.setting.gate.tau < b.setting.gate.tau - 1e-12;
}

}  // namespace

std::string TuneResult::rule() const {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "highest balanced accuracy among settings with coverage >= %g; ties: higher coverage, then lower "
                "threshold",
                min_coverage);
  return buf;
}

TuneResult tune_gate(const RunResults& val, const TuneGrid& grid, double min_coverage) {
  std::vector<int> truth;
  for (const auto& r : val.rows) truth.push_back(r.truth);
  bool any = false;
  for (int t : truth) any = any || t >= 0;
  if (!any)
    throw Error(val.results_file.string() + ": no image has a true label (run ensemble-classify on a manifest/CSV, "
                "or give --manifest)");
  const int K = static_cast<int>(val.run.classes.size());
  const int M = static_cast<int>(val.run.members.size());
  TuneResult t;
  t.min_coverage = min_coverage;
  const auto add = [&](const GateSetting& s) {
    const Decisions d = replay(val, s);
    TuneRow row;
    row.setting = s;
    row.m = compute_metrics(truth, d.label, d.probs, K);
    double kept = 0;
    size_t ans = 0;
    for (size_t i = 0; i < d.label.size(); ++i)
      if (d.label[i] >= 0 && truth[i] >= 0) kept += d.kept[i], ++ans;
    row.mean_kept = ans ? kept / ans : std::nan("");
    t.rows.push_back(row);
  };
  for (GateMode mode : grid.modes)
    for (GateCriterion c : grid.criteria) {
      std::vector<double> own;
      // The soft gate has no threshold (weights max(0, excess), whatever the criterion): one
      // criterion stands for it.
      if (mode == GateMode::Soft && c != grid.criteria.front()) continue;
      const std::vector<double> taus = mode == GateMode::Soft ? std::vector<double>{0.0} : taus_of(grid, c, own);
      for (double tau : taus)
        for (int q : grid.quorums) {
          if (q < 1 || q > M) continue;
          for (GateFallback f : grid.fallbacks)
            for (VoteRule v : grid.votes) {
              GateSetting s;
              s.gate.criterion = mode == GateMode::Soft ? GateCriterion::Excess : c;
              s.gate.mode = mode;
              s.gate.tau = checked_tau(s.gate.criterion, tau, "tune threshold");
              s.gate.quorum = q;
              s.gate.fallback = f;
              s.vote = v;
              add(s);
            }
        }
    }
  if (t.rows.empty()) throw Error("ensemble-tune: the grid is empty (no quorum fits " + std::to_string(M) + " members?)");
  bool found = false;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    if (!(t.rows[i].m.coverage >= min_coverage)) continue;
    if (!found || better(t.rows[i], t.rows[t.chosen], false)) t.chosen = i;
    found = true;
  }
  if (!found) {
    t.met_floor = false;
    for (size_t i = 1; i < t.rows.size(); ++i)
      if (better(t.rows[i], t.rows[t.chosen], true)) t.chosen = i;
  }
  return t;
}

void write_tune_files(const TuneResult& t, const RunResults& val, const fs::path& out) {
  using report_detail::csv_line;
  using report_detail::number;
  std::string csv = csv_line({"criterion", "tau", "mode", "quorum", "fallback", "vote", "n", "answered", "coverage",
                              "accuracy", "balanced_accuracy", "auc", "mean_kept", "chosen"});
  json rows = json::array();
  const auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto& r = t.rows[i];
    const auto& g = r.setting.gate;
    csv += csv_line({to_string(g.criterion), number(g.tau), to_string(g.mode), std::to_string(g.quorum),
                     to_string(g.fallback), to_string(r.setting.vote), std::to_string(r.m.n),
                     std::to_string(r.m.answered), number(r.m.coverage), number(r.m.accuracy),
                     number(r.m.balanced_accuracy), number(r.m.auc), number(r.mean_kept),
                     i == t.chosen ? "true" : "false"});
    rows.push_back({{"criterion", to_string(g.criterion)}, {"tau", g.tau}, {"mode", to_string(g.mode)},
                    {"quorum", g.quorum}, {"fallback", to_string(g.fallback)}, {"vote", to_string(r.setting.vote)},
                    {"n", r.m.n}, {"answered", r.m.answered}, {"coverage", num(r.m.coverage)},
                    {"accuracy", num(r.m.accuracy)}, {"balanced_accuracy", num(r.m.balanced_accuracy)},
                    {"auc", num(r.m.auc)}, {"mean_kept", num(r.mean_kept)}});
  }
  write_file_atomic(out / "tune.csv", csv);
  json j;
  j["validation"] = val.results_file.string();
  j["untrained_members"] = val.run.untrained;
  j["rule"] = t.rule();
  j["min_coverage"] = t.min_coverage;
  j["met_floor"] = t.met_floor;
  j["chosen"] = rows[t.chosen];
  j["chosen"]["description"] = t.rows[t.chosen].setting.describe();
  j["settings"] = rows;
  write_file_atomic(out / "tune.json", j.dump(2) + "\n");
}

TunedGate tuned_gate_of(const TuneResult& t, const RunResults& val) {
  const TuneRow& r = t.rows[t.chosen];
  TunedGate g;
  g.gate = r.setting.gate;
  g.vote = r.setting.vote;
  g.tuned_on = fs::absolute(val.results_file).lexically_normal().string();
  g.rule = t.rule() + (t.met_floor ? "" : " (no setting met the floor: highest coverage)");
  g.date = iso_utc_now();
  if (std::isfinite(r.m.balanced_accuracy)) g.val_balanced_accuracy = r.m.balanced_accuracy;
  if (std::isfinite(r.m.coverage)) g.val_coverage = r.m.coverage;
  return g;
}

void write_tuned_gate(const fs::path& models_dir, const TunedGate& gate, const RunSettings& run) {
  ModelsManifest m = load_models_manifest(models_dir, WeightFiles::may_be_missing);
  if (m.task != run.task || m.classes != run.classes)
    throw ConfigError(m.file.string() + ": task " + m.task + " is not the tuned run's (" + run.task + ", " +
                      run.file.string() + ")");
  for (const auto& name : run.members) m.member(name);  // names a member the folder lacks
  m.gate = gate;
  save_models_manifest(m, m.file.parent_path());
}

}  // namespace gradgate
