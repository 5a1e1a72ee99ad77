#pragma once
// `ensemble-classify` as a library call: resolves the task, the members and their weights,
// the lung masks, runs the gated ensemble over the inputs in batches and writes the report.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gradgate/cam_method.h"
#include "gradgate/distributed.h"
#include "gradgate/domain.h"
#include "gradgate/gate.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/vote.h"

namespace gradgate {

// Longer side of the Grad-CAM maps a run keeps per member (EnsembleOptions::max_map_side):
// to draw overlays and montages, and with --save-maps (maps/*.npy of larger images are
// scaled down to it). Bounds memory: 19 members x 4096^2 floats = 1.3 GB at most.
constexpr int kMaxDrawnMapSide = 1024;
constexpr int kMaxSavedMapSide = 4096;

struct ClassifyRequest {
  std::string task;                      // one of task_names()
  std::filesystem::path config_dir;      // empty: default_config_dir()
  std::filesystem::path models_dir;      // empty: the task's models_dir
  std::string preset;                    // empty: the task's (used only without a manifest)
  std::vector<std::string> members;      // empty: the task's (or the manifest's) members
  // Gate, vote and saliency settings; unset: the task's. Strings (the CLI's) are parsed with
  // the enums' name tables where they are read; run_classify validates tau (checked_tau
  // under the criterion in force, "--tau") and quorum (>= 1, "--quorum") before any member
  // is built: an invalid value is an error, never the task's default.
  std::optional<GateCriterion> criterion;
  std::optional<GateMode> gate_mode;
  std::optional<double> tau;
  std::optional<int> quorum;             // more than the members selected: all of them
  std::optional<GateFallback> fallback;
  std::optional<VoteRule> vote;
  std::optional<CamMethod> cam;
  std::optional<CamLayer> cam_layer;
  // The domain check (domain.h): flag | abstain | off; unset: the task's `ensemble.domain`.
  // It runs when the models folder has a domain model (manifest `domain:`, domain.pt).
  std::optional<DomainMode> domain;
  std::vector<std::string> inputs;       // image files, folders, manifest/CSV files
  std::filesystem::path out = "out";
  bool save_maps = false;                // raw maps + mask as .npy
  bool overlays = true;                  // per-member overlay PNGs
  bool montage = true;                   // one montage PNG per image
  int batch = 8;                         // images per Grad-CAM pass
  int threads = 0;                       // cores to use; 0 = all
  bool serial = false;                   // members one after another, same thread plan (for checking)
  bool progress = true;                  // progress bar on stderr
  // Run members with random weights when the task has no models folder (smoke tests only;
  // every output is then marked UNTRAINED). Off: such a run is a ConfigError.
  bool allow_untrained = false;
  bool use_segmenter = true;             // false (--segmenter none): mask files, else the atlas
  std::filesystem::path segmenter;       // empty: the committed U-Net (models/lung_unet)
  std::filesystem::path atlas;           // empty: the committed atlas (masks/)
  // Several processes (distributed.h): every rank reads the same inputs and takes every
  // world-th batch of `batch` images; each writes its images' files (overlays, montage, maps)
  // into its `out` and sends its result rows to rank 0, which writes results.csv/jsonl and
  // run.json in input order: the same files, row for row, as one process.
  DistOptions dist;
};

struct ClassifySummary {
  int images = 0, failed = 0, abstained = 0;
  int out_of_domain = 0;                 // images the domain check flagged (domain.h)
  std::string domain_note;               // why no image was checked (run.json's domain.note)
  std::vector<std::string> untrained;    // members that ran with random weights
  double seconds = 0.0;
};

// The gate and vote a run uses, field by field: the request's options (the CLI's) over the
// models folder's tuned gate (manifest.yaml `gate:`, written by ensemble-tune --write) over
// the task's YAML. With --gate but no --tau the tau beneath (tuned or task's) is checked under
// the new criterion. quorum is then capped at `members`. Throws ConfigError for an invalid
// --tau/--quorum. Torch-free (src/ensemble/gate_settings.cpp, core).
struct ResolvedGate {
  GateOptions gate;
  VoteRule vote = VoteRule::Soft;
  std::string source;  // "task", or "tuned (<manifest.yaml>)" when a tuned gate lay beneath
};
ResolvedGate resolve_gate(const ClassifyRequest& request, const GateOptions& task_gate, VoteRule task_vote,
                          const std::optional<TunedGate>& tuned, size_t members,
                          const std::string& tuned_file = "manifest.yaml");

// Runs the request; throws Error (naming what) for bad settings before any output is
// written. Images that cannot be read become rows with their error; the rest go on.
ClassifySummary run_classify(const ClassifyRequest& request);

}  // namespace gradgate
