#pragma once
// Training the members of an ensemble on one task (transfer learning or from scratch),
// choosing each member's epoch on the validation split, reporting the test split, and
// writing a models folder (<member>.pt + manifest.yaml) that ensemble-classify reads.
// Also: turning torchvision state dicts into such a folder without training (import).
// No torch in this header.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "gradgate/distributed.h"
#include "gradgate/task.h"
#include "gradgate/zoo/weight_storage.h"

namespace gradgate {

// ---- metrics on class probabilities ----

struct EvalMetrics {
  int64_t count = 0;
  double loss = 0.0;      // mean cross-entropy (class-weighted when the caller gives weights)
  double accuracy = 0.0;  // share of argmax == label
  // ROC AUC: two classes -> of class 1; more -> one-vs-rest macro average over the classes
  // present with both positives and negatives. NaN when no class qualifies.
  double auc = 0.0;
  std::vector<double> recall;  // per class; NaN for a class absent from the labels
};

// `probs` is row-major [labels.size(), num_classes]. `class_weights` (optional, one per
// class) weights the loss as torch's cross_entropy(weight=...) does.
EvalMetrics compute_metrics(const std::vector<float>& probs, const std::vector<int64_t>& labels,
                            int num_classes, const std::vector<double>& class_weights = {});
// Rank-based ROC AUC (ties count half). NaN when all labels are equal.
double roc_auc(const std::vector<float>& scores, const std::vector<bool>& positive);

// ---- training ----

struct TrainOptions {
  std::vector<std::string> members;   // registry names; empty = the task's default members
  std::string preset = "compact";     // full | compact | tiny (config/networks.yaml)
  std::filesystem::path init_dir;     // <member>.pt torchvision state dicts; empty = from scratch
  int freeze = 0;                     // leading parameter tensors kept fixed (with --init)
  int epochs = 10;
  int batch = 16;
  double lr = 1e-3;
  // Members whose peak learning rate replaces `lr` (vgg19, with 16 convolutions and no batch
  // normalisation, does not learn from scratch at 1e-3).
  std::vector<std::pair<std::string, double>> member_lr;
  double weight_decay = 1e-4;
  std::string optimizer = "adamw";    // adamw | sgd (momentum 0.9, nesterov)
  double momentum = 0.9;
  int warmup_epochs = 1;              // linear warm-up, then cosine decay to 0
  int patience = 5;                   // epochs without validation improvement before stopping
  std::string select = "loss";        // validation metric that picks the epoch: loss | auc
  std::string balance = "loss";       // class balance: loss (weights) | sampler | none
  bool augment = true;                // rotation +-7 deg, shift +-6 %, scale 0.9-1.1, brightness/contrast +-10 %
  bool hflip = false;                 // chest X-rays are not mirror-symmetric: off by default
  // Weight of the lung penalty (train_step.h: outside_lung_share), added to the loss for
  // training images that have a lung mask; 0 = off.
  double lung_penalty = 0.0;
  // How each member's <member>.pt is stored (weight_storage.h; float16 is half the size, int8
  // about a quarter; loaded as float). The member is rounded to it before its validation and
  // test figures, so they are the shipped weights' figures. Checkpoints stay in float32.
  WeightStorage weights_dtype = WeightStorage::Float16;
  // After training, fit the folder's domain check (domain.h: domain.pt + the manifest's
  // `domain:` block) on the run's train split, calibrated on its val split.
  bool fit_domain = true;
  uint64_t seed = 1;
  int threads = 0;                    // 0 = every core
  int parallel_members = -1;          // members trained at once; -1 = automatic (see train.cpp)
  int64_t cache_mb = 512;             // bound on preprocessed images kept in memory, all members
  // Continue from <out>/checkpoints/<member>.ckpt, and keep the members that <out>/manifest.yaml
  // lists as trained with the same data and settings (false: train every member again).
  bool resume = true;
  bool progress = true;               // progress line on stderr
  int64_t max_train_batches = 0;      // > 0: stop each epoch after that many batches (tests)
  // Several processes (distributed.h; world_size 1: this process alone). Data parallel: every
  // member is trained by all ranks, each taking rows rank, rank + world, ... of every batch of
  // `batch` images (the global batch), gradients summed with Gloo all-reduce; BatchNorm
  // normalises over each rank's rows, and the running statistics are averaged over the ranks
  // after every epoch. Rank 0 writes the checkpoints, the weights, the manifest and domain.pt;
  // the checkpoint is read by rank 0 and sent to the others, and resumes with the same world
  // size only. Members kept from an earlier manifest (without their checkpoint) are trained
  // again. Members mode: each rank trains members rank, rank + world, ... alone (as one
  // process would: same weights), into an output folder every rank shares; rank 0 then
  // evaluates the others' members from their checkpoints and writes the manifest.
  DistOptions dist;
};

struct MemberSummary {
  std::string name;
  int64_t input_side = 0;
  double width = 1.0;
  double classifier_width = 0.0;  // alexnet/vgg hidden classifier layers; 0 = width
  std::string file;          // weights file name inside the output folder
  int epochs_run = 0;        // epochs trained in total (across resumes)
  int best_epoch = 0;        // 1-based epoch whose weights were kept
  double val_metric = 0.0;   // the selection metric at best_epoch
  EvalMetrics val;
  EvalMetrics test;
  double train_seconds = 0.0;
  double images_per_second = 0.0;  // training images (forward+backward) per second
  bool resumed = false;            // continued from a checkpoint
  bool kept = false;               // taken from the output folder's manifest, not trained
  std::vector<double> train_loss;  // per epoch run (mean training loss)
  std::vector<double> val_history; // per epoch run (the selection metric)
  // Per epoch run: mean share of Grad-CAM evidence outside the lungs over the training images
  // with a mask (recorded when the lung penalty is on).
  std::vector<double> train_outside_share;
};

struct TrainSummary {
  std::vector<MemberSummary> members;
  EvalMetrics ensemble_test;  // soft vote (mean probability) of all members
  int parallel_members = 1;   // what the run used
  double seconds = 0.0;
  std::filesystem::path manifest;  // <out>/manifest.yaml
};

// Reads the data set (manifest.csv, folder tree or plain CSV) restricted to `task`,
// validates it (every class has images in every split; no missing files; no labels the
// task does not know in a data set whose labels are its own classes), trains every member
// and writes <out>/<member>.pt and <out>/manifest.yaml. Throws DatasetError/ModelError/
// ConfigError before any training when the input is bad.
TrainSummary train_ensemble(const TaskSpec& task, const std::filesystem::path& data,
                            const TrainOptions& options, const std::filesystem::path& out);

// ---- import ----

struct ImportOptions {
  std::vector<std::string> members;  // empty = every <member>.pt in `from` named after a member
  std::string preset = "full";
};

// Turns torchvision state dicts <from>/<member>.pt into a models folder for `task` (no
// training): each is loaded strictly into the member built at `preset` with the task's class
// count (a classifier of another shape is an error), saved as <out>/<member>.pt, and listed
// in <out>/manifest.yaml. Returns the manifest path.
std::filesystem::path import_members(const TaskSpec& task, const std::filesystem::path& from,
                                     const ImportOptions& options,
                                     const std::filesystem::path& out);

// A task by name (config/tasks/<name>.yaml) or by the path of a task YAML file.
TaskSpec resolve_task(const std::string& name_or_file);

}  // namespace gradgate
