#pragma once
// ensemble-tune as a library call: the gate's settings (criterion, threshold, quorum,
// fallback, vote rule, gate mode) swept on one run's results (the validation split, replayed:
// no network runs), one chosen by a stated rule, and the choice recorded in a models folder's
// manifest.yaml when asked. No torch here.
#include <filesystem>
#include <string>
#include <vector>

#include "gradgate/evaluate.h"
#include "gradgate/store/models_manifest.h"

namespace gradgate {

struct TuneGrid {
  std::vector<GateCriterion> criteria = {GateCriterion::Share, GateCriterion::Lift, GateCriterion::Excess};
  std::vector<double> share_taus, lift_taus, excess_taus;  // empty: curve_grid(criterion) (bench.h)
  std::vector<int> quorums = {1, 2, 3, 5};                 // those above the member count are left out
  std::vector<GateFallback> fallbacks = {GateFallback::Abstain, GateFallback::All, GateFallback::Best};
  std::vector<VoteRule> votes = {VoteRule::Soft, VoteRule::Hard, VoteRule::Weighted};
  std::vector<GateMode> modes = {GateMode::Hard, GateMode::Soft};  // soft: no threshold (one row per quorum...)
};

struct TuneRow {
  GateSetting setting;
  Metrics m;           // no intervals: the sweep is scored once, the choice is bootstrapped on test
  double mean_kept = 0;
};

// The rule: among settings with coverage >= min_coverage, the highest balanced accuracy;
// ties (within 1e-12) go to the higher coverage, then the lower threshold, then the order of
// the grid. When none reaches the floor, the highest coverage is chosen (and `met_floor` is
// false, said in every output).
struct TuneResult {
  std::vector<TuneRow> rows;
  size_t chosen = 0;
  double min_coverage = 0;
  bool met_floor = true;
  std::string rule() const;  // the rule in words, with the floor
};

// Throws Error naming the results file when no row has a true label.
TuneResult tune_gate(const RunResults& val, const TuneGrid& grid, double min_coverage);

// tune.csv (every setting) and tune.json (the grid's rows, the rule, the choice) in `out`.
void write_tune_files(const TuneResult& t, const RunResults& val, const std::filesystem::path& out);

// The choice as a models manifest's `gate:` block, with where it came from.
TunedGate tuned_gate_of(const TuneResult& t, const RunResults& val);
// Reads <models_dir>/manifest.yaml, sets its gate block, writes it back atomically. The
// manifest's task and classes must be the run's (ConfigError naming the file otherwise).
void write_tuned_gate(const std::filesystem::path& models_dir, const TunedGate& gate, const RunSettings& run);

}  // namespace gradgate
