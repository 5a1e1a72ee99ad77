#pragma once
// The manifest of a models folder (manifest.yaml, written by ensemble-train and
// ensemble-train import): which task, its classes, and for every member its weights file,
// size preset, input side, width, normalisation and the figures it reached. No torch here.
// The contract between ensemble-train (writes) and ensemble-classify (reads): the model
// store sits below both, so classify does not depend on training.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gradgate/gate.h"
#include "gradgate/normalization.h"
#include "gradgate/vote.h"

namespace gradgate {

struct ModelEntry {
  std::string name;                 // registry name
  std::string preset;               // full | compact | tiny
  int64_t input_side = 0;
  double width = 1.0;
  double classifier_width = 0.0;    // YAML key absent (older folders): 0 = width
  std::filesystem::path file;       // absolute path of <member>.pt (exists when loaded)
  Normalization normalization;      // YAML: normalization: {mean: [..], std: [..]}
  int epochs = 0;                   // epochs trained; 0 for imported weights
  std::string val_metric_name;      // loss | auc; empty when not trained here
  std::optional<double> val_metric;
  std::optional<double> test_accuracy;
  std::optional<double> test_auc;
  std::vector<double> test_recall;  // per class, in the manifest's class order
  int best_epoch = 0;               // 1-based epoch whose weights were kept; 0 for imports
  std::optional<double> lr;         // peak learning rate it was trained with
  std::optional<double> train_seconds;  // training time, summed over resumed sessions
  // Trained with the lung penalty: mean share of Grad-CAM evidence outside the lungs over the
  // masked training images in the last epoch run.
  std::optional<double> train_outside_share;
  std::string weights_hash;         // "fnv1a64:<hex>" of `file` as written; empty in older manifests
};

// The gate ensemble-tune chose for this folder's members (`gate:` in manifest.yaml).
// ensemble-classify uses it in place of the task's gate and vote, under any option the user
// gives (classify.h: resolve_gate).
struct TunedGate {
  GateOptions gate;                  // criterion, tau, mode, quorum, fallback
  VoteRule vote = VoteRule::Soft;
  std::string tuned_on;              // the validation results it was chosen on
  std::string rule;                  // the choice rule, in words
  std::string date;                  // ISO 8601 UTC
  std::optional<double> val_balanced_accuracy, val_coverage;
};

// The folder's domain model (`domain:` in manifest.yaml; domain.h), written by
// `ensemble-domain fit` (fit_models_domain). Absent in older manifests: no domain check.
struct DomainRecord {
  std::filesystem::path file;        // absolute path of domain.pt (written relative to the folder)
  std::string hash;                  // "fnv1a64:<hex>" of the file as written
  // domain_members_hash of the members it was fitted with: a member retrained since makes
  // the model stale, and classify refuses it.
  std::string members_hash;
  std::string data_path, data_hash;  // the data set it was fitted on
  std::vector<std::string> excluded_sources;
  int64_t train_images = 0;          // task's train split: the features modelled
  int64_t val_images = 0;            // task's val split: the thresholds
  int components = 0;                // principal directions per member, at most
  double quantile = 0.99;            // each member's threshold: this quantile of its val scores
  std::string rule;                  // how the members combine, in words
  std::optional<double> val_flagged; // share of the val split flagged
  std::string date;                  // ISO 8601 UTC
};

struct ModelsManifest {
  std::filesystem::path file;       // the manifest.yaml read
  std::string task;
  std::vector<std::string> classes;
  std::vector<ModelEntry> members;
  std::string data_hash;            // "fnv1a64:<hex>" of the data manifest; empty for imports
  uint64_t seed = 0;
  std::string created;              // ISO 8601 UTC
  std::string gradgate_version;
  std::string data_path;            // the data set trained on, as given
  std::optional<double> ensemble_test_accuracy;  // soft vote of all members on the test split
  std::optional<double> ensemble_test_auc;
  // Training settings as written (key -> value), for the record; not interpreted.
  std::vector<std::pair<std::string, std::string>> training;
  std::optional<TunedGate> gate;    // written by ensemble-tune --write; absent: the task's gate
  std::optional<DomainRecord> domain;  // written by ensemble-domain fit; absent: no domain check

  // Throws ModelError naming the manifest and the member when it is not listed.
  const ModelEntry& member(const std::string& name) const;
};

enum class WeightFiles {
  must_exist,    // a listed weights file that does not exist is an error (ensemble-classify)
  may_be_missing  // ensemble-train reading its earlier run: each member is judged on its own
};

// Reads and validates <dir>/manifest.yaml (or the file itself when `dir_or_file` is a file).
// Throws ConfigError naming the file and the key (e.g. `members[2].input_side`) and what was
// expected; with WeightFiles::must_exist, a listed weights file that does not exist is an
// error naming it.
ModelsManifest load_models_manifest(const std::filesystem::path& dir_or_file,
                                    WeightFiles weights = WeightFiles::must_exist);

// Writes `manifest` to <dir>/manifest.yaml atomically (temp file, then rename). Member files
// are written relative to `dir`.
void save_models_manifest(const ModelsManifest& manifest, const std::filesystem::path& dir);

// What identifies the members a domain model was fitted with: fnv1a64 over "name=hash\n" of
// every member in manifest order, hash being its weights_hash (or, in older manifests without
// one, weights_file_hash of its file).
std::string domain_members_hash(const ModelsManifest& manifest);

// ModelEntry::weights_hash of a weights file: "fnv1a64:<16 hex digits>" of its bytes as
// written, from gradgate's basis (kGradgateFnvBasis in common/fnv1a.h), as the committed
// manifests record it. Throws Error when the file cannot be read.
std::string weights_file_hash(const std::filesystem::path& file);

}  // namespace gradgate
