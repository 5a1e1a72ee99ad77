#pragma once
// Accuracy of the members, the plain ensemble and the gated ensemble, from an
// ensemble-classify run's results (results.jsonl + run.json) alone: every member's class
// probabilities and gate scores are in the rows, so the gate and the vote are replayed here
// for any setting without running a network. The metrics, the bootstrap over patients and
// the paired test are plain functions of labels and scores. No torch here
// (ensemble-bench, ensemble-tune; src/evaluate/).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gradgate/gate.h"
#include "gradgate/task.h"
#include "gradgate/vote.h"

namespace gradgate {

class Dataset;

// ---- one run, read back ----

// run.json: the settings the run's gate and vote used (never the task YAML's).
struct RunSettings {
  std::filesystem::path file;
  std::string task;
  std::vector<std::string> classes;
  std::vector<std::string> members;    // the run's member order (the rows' members follow it)
  std::vector<std::string> untrained;  // members that ran with random weights
  GateOptions gate;
  VoteRule vote = VoteRule::Soft;
  bool finished = false;
};

struct MemberScores {
  std::vector<double> probs;  // per class
  int label = -1;             // its argmax
  LungShare share;            // status, share, lift, excess, mask_fraction as the run wrote them
};

struct ResultRow {
  std::string image;          // the image path, escapes (\xNN) undone
  size_t line = 0;            // 1-based line in results.jsonl
  std::string stem;
  int truth = -1;             // class index; -1 when unknown
  std::string patient;        // from a data set; empty: the image is its own patient
  bool run_abstained = false; // what the run decided, to check the replay against
  int run_label = -1;
  std::string overlays;       // folder of the row's overlays, relative to the run; empty if none
  std::vector<MemberScores> members;  // RunSettings::members order
};

struct RunResults {
  std::filesystem::path dir;           // the run's folder
  std::filesystem::path results_file;  // results.jsonl
  RunSettings run;
  std::vector<ResultRow> rows;         // images with status ok
  size_t error_rows = 0;               // images the run could not process
};

// Reads run.json. Throws Error naming the file (and the key) when it is missing, not JSON,
// or lacks a setting; an unknown criterion, mode, fallback or vote rule names the value.
RunSettings load_run_settings(const std::filesystem::path& run_json);

// `path`: a run folder, or its results.jsonl (run.json beside it). Throws Error naming the
// file and line of a row that is not JSON or lacks a field, and run.json when a row's members
// or classes are not the run's. An unfinished run (results.jsonl.part only) is an error.
RunResults load_run_results(const std::filesystem::path& path);

// Gives rows the true class and the patient id from a data set (manifest/CSV/tree): a row
// whose image (absolute, normalised) is a sample of `data` gets the task's class of its
// diagnosis (when the task uses it) and its patient. Returns the number of rows matched.
size_t attach_labels(RunResults& results, const Dataset& data, const TaskSpec& task);

// What ensemble-bench and ensemble-tune read: the run (load_run_results), its task's
// classes checked against the task file under `config_dir` (empty: the default), labels and
// patients from `data` when given (attach_labels; 0 rows matched is an Error naming both).
// A run with untrained members is an Error unless `allow_untrained`.
RunResults load_labelled_run(const std::filesystem::path& results, const std::filesystem::path& data,
                             const std::filesystem::path& config_dir, bool allow_untrained);

// The images of one split of a task as a plain CSV for ensemble-classify
// (path,label,mask,patient,split: the data set's diagnosis as label, so the run's rows carry
// the true class). `limit` > 0 keeps at most that many, evenly spaced through the split.
// Returns the number of images written. Throws DatasetError when the split has none.
size_t write_split_inputs(const Dataset& data, const TaskSpec& task, int split, size_t limit,
                          const std::filesystem::path& csv);

// ---- the gate replayed ----

struct GateSetting {
  GateOptions gate;
  VoteRule vote = VoteRule::Soft;
  bool plain = false;  // no gate: every member votes (plain_vote)
  bool faithful = false;  // replay exactly as the ensemble ran (share >= 0 through gate_decide too)
  std::string describe() const;  // "share>=0.3 hard q3 abstain soft" or "plain soft"
};

// The setting a run used (run.json), as a GateSetting (not faithful).
GateSetting run_setting(const RunSettings& run);
// True for the plain vote, and (unless `faithful`) for share >= 0 under the hard gate: every
// member passes then, members with an empty map included, so that row is the plain vote by
// definition. The ensemble itself leaves empty maps out at share >= 0 (gate_decide): a
// faithful setting replays that.
bool gate_is_off(const GateSetting& s);

struct Decisions {
  std::vector<int> label;                  // per row; -1 abstained
  std::vector<std::vector<double>> probs;  // per row, the combined class probabilities (empty if abstained)
  std::vector<int> kept;                   // per row, members that voted
  std::vector<std::vector<char>> member_kept;  // per row and member: voted
  std::vector<std::vector<char>> member_passed;  // per row and member: passed the gate
};
// Replays `s` on every row (gate_decide + vote_gated, or plain_vote when gate_is_off).
// Throws ConfigError for an invalid setting (tau, quorum) under the run's member count.
Decisions replay(const RunResults& results, const GateSetting& s);
// Rows whose replay at `s` differs from what the run wrote (label or abstention).
size_t replay_mismatches(const RunResults& results, const Decisions& d);

// ---- metrics ----

struct Interval {
  double lo = 0.0, hi = 0.0;  // NaN when undefined
};

struct Metrics {
  size_t n = 0;         // images with a known label
  size_t answered = 0;  // of those, not abstained
  double coverage = 0.0, accuracy = 0.0, balanced_accuracy = 0.0, auc = 0.0;  // NaN when undefined
  std::vector<double> sensitivity, specificity, ppv;  // per class (one-vs-rest), on the answered
  std::vector<std::vector<int64_t>> confusion;        // [true][predicted], answered images
};

// On the images with truth >= 0: coverage over them, the rest on the answered ones
// (pred >= 0). `probs[i]` (per class) gives the AUC: 2 classes, class 1's probability;
// more, the mean of the one-vs-rest AUCs of the classes present. `weights` (per image, a
// bootstrap draw's counts) may be empty for 1 each. Sizes must agree (std::invalid_argument).
Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& pred,
                        const std::vector<std::vector<double>>& probs, int classes,
                        const std::vector<int>& weights = {});

// Area under the ROC curve of `score` for positives (Mann-Whitney, ties count 1/2), with
// integer weights (empty: 1). NaN without a positive or a negative.
double auc(const std::vector<double>& score, const std::vector<char>& positive,
           const std::vector<int>& weights = {});

struct RocPoint {
  double fpr = 0.0, tpr = 0.0;
};
// The ROC curve (0,0) ... (1,1), one point per distinct score.
std::vector<RocPoint> roc_curve(const std::vector<double>& score, const std::vector<char>& positive);

// McNemar's test on paired right/wrong outcomes: b = first right and second wrong, c = the
// reverse. Exact two-sided binomial p (min(1, 2 P[X <= min(b,c)]), X ~ Bin(b + c, 1/2)) and
// its mid-p (the exact p less P[X = min(b,c)]); both 1 when b + c = 0.
struct McNemar {
  int64_t b = 0, c = 0;
  double p_exact = 1.0, p_mid = 1.0;
};
McNemar mcnemar(int64_t b, int64_t c);

// ---- the bootstrap over patients ----

// Resamples patients with replacement (all images of a drawn patient come along), `reps`
// times from `seed`: the same seed gives the same draws. An empty patient id is a patient
// of its own. weights(r)[i] is how often image i is in draw r.
class PatientBootstrap {
 public:
  PatientBootstrap(const std::vector<std::string>& patients, int reps, uint64_t seed);
  int reps() const { return static_cast<int>(draws_.size()); }
  size_t patients() const { return patients_; }
  const std::vector<int>& weights(int r) const { return draws_[r]; }
  // The 2.5th and 97.5th percentiles of `values` (one per draw, NaNs left out).
  static Interval percentile_interval(std::vector<double> values, double level = 0.95);

 private:
  std::vector<std::vector<int>> draws_;
  size_t patients_ = 0;
};

}  // namespace gradgate
