#pragma once
// ensemble-bench as a library call: from one run's results (evaluate.h), the accuracy of every
// member, of the plain ensemble and of the gated ensemble at the run's own setting, with 95%
// intervals by a bootstrap over patients and McNemar's paired test gated vs plain; how each
// member's in-lung share is spread and how often the gate drops it; whether kept votes are
// more accurate than dropped ones; accuracy and coverage along the criterion's threshold.
// Written as a text table, bench.json, bench.csv, PNG figures and report.html. No torch here.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gradgate/evaluate.h"

namespace gradgate {

struct BenchOptions {
  int bootstrap = 1000;  // draws over patients; 0: no intervals
  uint64_t seed = 1;
  std::optional<GateSetting> setting;  // the gated row's setting; default: the run's (run.json)
  std::vector<double> curve_taus;      // thresholds of the curves; empty: curve_grid(criterion)
};

// The default threshold grid of a criterion: share and excess 0..0.8 by 0.05, lift 0..3 by 0.125.
std::vector<double> curve_grid(GateCriterion c);

// One row of the accuracy table: a member, the plain ensemble or the gated one.
struct Scored {
  std::string name;
  std::string kind;  // "member", "plain", "gated", "plain on gated's images"
  Metrics m;
  Interval accuracy, balanced_accuracy, auc, coverage;  // NaN without a bootstrap
};

struct MemberGateStats {
  std::string name;
  size_t judged = 0;                // images with a judgeable map (status ok)
  double mean = 0, min = 0, q1 = 0, median = 0, q3 = 0, max = 0;  // its in-lung share
  std::vector<double> shares;       // every judged share (figures)
  double drop_rate = 0;             // images where the gate did not keep it
  double accuracy_kept = 0, accuracy_dropped = 0;  // its label's accuracy where kept / dropped
};

struct CurvePoint {
  double tau = 0;
  double coverage = 0, accuracy = 0, balanced_accuracy = 0;
  double plain_accuracy_same = 0;  // the plain vote on the images the gate answered
  double mean_kept = 0;            // members that voted, per answered image
};

struct BenchResult {
  std::filesystem::path run_dir, results_file;
  RunSettings run;
  GateSetting setting;
  size_t images = 0, labelled = 0, error_rows = 0, patients = 0;
  int bootstrap = 0;
  uint64_t seed = 0;
  std::vector<Scored> members;
  Scored plain, gated, plain_same;  // plain_same: the plain vote on the images gated answered
  McNemar paired;                   // gated vs plain, on the images gated answered
  double accuracy_gain = 0;         // gated - plain_same accuracy
  Interval accuracy_gain_ci;
  double mean_kept = 0;             // members that voted per answered image
  std::vector<size_t> kept_histogram;  // [k]: answered images with k members voting
  double kept_vote_accuracy = 0, dropped_vote_accuracy = 0;  // member labels, pooled
  size_t kept_votes = 0, dropped_votes = 0;
  std::vector<MemberGateStats> member_gate;
  size_t replay_mismatches = 0;     // replay at the run's setting vs its own decisions
  std::vector<CurvePoint> curve;    // along BenchOptions::curve_taus, the setting's criterion
  // For figures: per labelled row, in row order.
  std::vector<int> truth;
  std::vector<std::vector<double>> plain_probs, gated_probs;
  std::vector<std::vector<std::vector<double>>> member_probs;  // [member][row]
  bool untrained() const { return !run.untrained.empty(); }
};

// Rows without a true label are left out of every metric (`labelled` counts the rest).
// Throws Error when no row has a true label (naming the results file).
BenchResult run_bench(const RunResults& results, const BenchOptions& options);

// The text table ensemble-bench prints (with the untrained warning first when it applies).
std::string bench_text(const BenchResult& b);
// The banner every output of a run with untrained members carries; empty when none.
std::string untrained_warning(const RunSettings& run);

// bench.json and bench.csv in `out` (written atomically).
void write_bench_files(const BenchResult& b, const std::filesystem::path& out);

// Figures in <out>/figures/ (PNG): accuracy and coverage against the threshold, members kept
// against the threshold, ROC curves, the members' share distributions, confusion matrices,
// and per member a contact sheet of its overlays over the run's images (when the run wrote
// overlays; at most `sheet_images` per sheet). Returns the files written, relative to `out`.
struct FigureFile {
  std::string file, title, caption;
};
std::vector<FigureFile> write_bench_figures(const BenchResult& b, const RunResults& results,
                                            const std::filesystem::path& out, int sheet_images = 64);

// What a report page says about itself: which tool wrote it, where its gated setting came
// from, and any section of that tool's own (HTML) before the tables.
struct ReportPage {
  std::string tool = "bench";                // "gradgate <tool>: <task>" in the title
  std::string setting_from = "from run.json";  // ensemble-tune: chosen on the validation run
  std::string extra_html;
};

// <out>/report.html: self-contained (inline CSS, no script, no server), the tables and the
// figures (referenced relatively: figures/*.png).
void write_bench_html(const BenchResult& b, const std::vector<FigureFile>& figures,
                      const std::filesystem::path& out, const ReportPage& page = {});

}  // namespace gradgate
