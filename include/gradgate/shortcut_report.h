#pragma once
// The shortcut benchmark's verdict: from two ensemble-classify runs (--save-maps) over the
// clean and the reversed test split of a shortcut-data folder, per member its accuracy on
// both, where its Grad-CAM mass went (lungs, marker), and per gate criterion and threshold
// how well the gate drops the member-image pairs that looked at the marker (mass on it) or used
// it (the clean copy of the same film got another answer), and what the gated
// ensemble scores on the reversed split. The maps are read back, so every figure is
// recomputed from ground truth (the marker masks) with the library's own lung_share and
// gate_decide. No torch.
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "gradgate/gate.h"

namespace gradgate {

struct ShortcutEvalOptions {
  // A member-image pair "looked at the marker" when the share of its map's mass on the
  // marker's box is at least `looked_lift` times the box's share of the image (5: five times
  // what a uniform map puts there).
  double looked_lift = 5.0;
  // A member-image pair "used the marker" (the causal ground truth: the same film with and
  // without it) when adding the marker raised the member's probability of the marked class by
  // at least `used_delta`, or turned its answer into the marked class.
  double used_delta = 0.2;
  int quorum = 1;  // the gated ensemble: fewer members kept -> abstain
  // Thresholds swept per criterion.
  std::vector<double> share_taus = {0.3, 0.4, 0.5, 0.6, 0.7};
  std::vector<double> lift_taus = {1.0, 1.25, 1.5, 2.0, 2.5};
  std::vector<double> excess_taus = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5};
  uint64_t bootstrap_seed = 1;
  int bootstrap_reps = 1000;  // for the 95% intervals of the ensemble accuracies
};

struct Interval {
  double value = 0, lo = 0, hi = 0;  // estimate and 95% bootstrap interval over images
};

struct ShortcutMemberFigures {
  std::string name;
  double clean_accuracy = 0, reversed_accuracy = 0;
  double mean_share = 0, mean_lift = 0, mean_excess = 0;  // reversed split, judgeable maps
  double mean_marker_share = 0;  // reversed split, images that carry a marker
  double looked_rate = 0;        // of those images, the fraction where it looked at the marker
  double mean_marker_effect = 0;  // marked images: p(marked class | marked) - p(... | clean copy)
  double used_rate = 0;           // of those images, the fraction where it used the marker
};

struct ShortcutGateFigures {
  GateCriterion criterion = GateCriterion::Share;
  GateMode mode = GateMode::Hard;
  double tau = 0;
  // Dropping member-image pairs (reversed split, all images) as a detector of "looked".
  int pairs = 0, looked = 0, dropped = 0, dropped_looked = 0;
  double precision = 0, recall = 0;
  // The same, as a detector of "used" (the marker changed the member's answer).
  int used = 0, dropped_used = 0;
  double precision_used = 0, recall_used = 0;
  Interval accuracy;   // gated ensemble on the answered reversed images
  double coverage = 0; // answered / all reversed images
  Interval accuracy_clean;
  double coverage_clean = 0;
};

struct ShortcutReport {
  std::vector<std::string> classes;
  std::string marked_class;      // the class the marker went with in training (markers.csv)
  int clean_images = 0, reversed_images = 0, marked_reversed = 0;
  std::vector<ShortcutMemberFigures> members;
  Interval plain_clean, plain_reversed;  // soft vote of every member
  std::vector<ShortcutGateFigures> gates;
  ShortcutEvalOptions options;
};

// `data`: the shortcut-data folder (markers.csv); `clean_run`, `reversed_run`: the output
// folders of ensemble-classify --save-maps over its test-clean.csv and test-reversed.csv.
// Throws Error naming the file when a run lacks an image, a member's map or a column.
ShortcutReport shortcut_report(const std::filesystem::path& data,
                               const std::filesystem::path& clean_run,
                               const std::filesystem::path& reversed_run,
                               const ShortcutEvalOptions& options = {});

// Markdown tables: members, then gate rows.
void print_shortcut_report(std::ostream& out, const ShortcutReport& report);

}  // namespace gradgate
