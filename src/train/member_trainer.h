#pragma once
// Training one member: the epoch loop, validation, early stopping and the per-epoch
// checkpoint that makes a killed run resumable. Private to src/train.
#include <torch/torch.h>

#include <filesystem>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gradgate/comm.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/train.h"
#include "gradgate/zoo/member.h"
#include "train/compat.h"
#include "train/progress.h"
#include "train/train_data.h"

namespace gradgate::train_detail {

// Where --init's starting weights come from, read once per run (init_weights): a folder of
// torchvision state dicts (<member>.pt), or a gradgate models folder and its manifest.
struct InitWeights {
  std::filesystem::path dir;               // empty: every member from scratch
  std::optional<ModelsManifest> manifest;  // set when dir holds a manifest.yaml
};
InitWeights init_weights(const std::filesystem::path& dir);

struct MemberJob {
  std::string name;
  PresetSpec preset;
  Normalization norm;  // the member card's
  bool parallel_load = true;  // load a batch's images with TBB
  int64_t cache_bytes = 0;  // bound for this member's image cache (train + val + test)
  int members_after = 0;    // members queued behind this one (for the time-left estimate)
  std::string config_tag;   // everything that must match for a checkpoint to be resumed
  double lr = 1e-3;         // peak learning rate (--lr, or the member's --member-lr)
  // Set when the output folder's manifest already holds this member trained with the same
  // data and settings: its weights are evaluated, not trained again.
  std::optional<ModelEntry> keep;
  std::shared_ptr<const InitWeights> init;  // the run's --init (null: from scratch)
  // Data-parallel training (--dist-mode data over several ranks): every rank runs this member
  // on its rows of each batch; rank 0 alone writes the checkpoint and the weights. Null: the
  // member is this process's alone.
  Comm* comm = nullptr;
};

struct MemberOutcome {
  MemberSummary summary;
  std::vector<float> test_probs;  // [test size, classes] row-major
};

// The mutex that serialises seeding torch's global generator and building/initialising a
// member, so that members built in parallel get the same weights as one after another.
std::mutex& torch_rng_mutex();

// Builds the member for `classes` outputs at its preset; with `init` (may be null) its
// starting weights are loaded with the classifier skipped, then the classifier is reset.
Member build_member(const std::string& name, const PresetSpec& preset, int64_t classes,
                    const InitWeights* init, uint64_t seed, std::string* log);

MemberOutcome train_member(const MemberJob& job, const TaskData& data, const TrainOptions& options,
                           const std::filesystem::path& out, Progress& progress);

// Softmax probabilities of `model` on `items` in order, [items, classes] row-major. With
// `comm` (several ranks, the same weights on each), each rank predicts items rank, rank+N, ...
// and every rank gets all of them back in order.
std::vector<float> predict(const Member& member, Feeder& feeder, int batch,
                           bool parallel_load, Comm* comm = nullptr);

std::filesystem::path checkpoint_path(const std::filesystem::path& out, const std::string& member);

// Throws ModelError naming the checkpoint when it exists but cannot be read or was written
// with other settings than `tag`; train_ensemble calls it for every member before any trains.
void check_checkpoint(const std::filesystem::path& path, const std::string& tag);

}  // namespace gradgate::train_detail
