// ensemble-train's library side: validation of the input, the member schedule (in parallel
// or one after another), the soft-vote ensemble on the test split and the models folder.
#include "gradgate/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>
#include <thread>

#include "gradgate/common/fnv1a.h"
#include "gradgate/common/strings.h"
#include "gradgate/common/utc_time.h"
#include "gradgate/comm.h"
#include "gradgate/domain.h"
#include "gradgate/error.h"
#include "gradgate/output_dir.h"
#include "gradgate/parallel.h"
#include "gradgate/report.h"  // gradgate_version()
#include "gradgate/store/models_manifest.h"
#include "gradgate/zoo/registry.h"
#include "train/compat.h"
#include "train/member_trainer.h"
#include "train/progress.h"
#include "train/train_data.h"


namespace gradgate {

namespace fs = std::filesystem;
using namespace train_detail;

TaskSpec resolve_task(const std::string& name_or_file) { return load_task_spec(name_or_file); }

namespace {

// What identifies the data: the manifest/CSV file's bytes, or for a folder tree the list of
// its images and labels in order.
std::string data_hash(const fs::path& data, const TaskData& td) {
  fs::path file = data;
  if (fs::is_directory(data) && fs::exists(data / "manifest.csv")) file = data / "manifest.csv";
  if (fs::is_regular_file(file)) return fnv1a64_label(fnv1a64_file(file, kGradgateFnvBasis));
  uint64_t h = kGradgateFnvBasis;
  for (const auto& split : td.split)
    for (const auto& it : split) h = fnv1a64(it.image.string() + "," + std::to_string(it.label) + "\n", h);
  return "fnv1a64-list:" + fnv1a64_hex(h);
}

void check_options(const TrainOptions& o) {
  auto bad = [](const std::string& opt, const std::string& what) {
    throw ConfigError("--" + opt + ": " + what);
  };
  if (o.epochs < 1) bad("epochs", "expected at least 1");
  if (o.batch < 2) bad("batch", "expected at least 2 (batch normalisation needs 2 images)");
  if (!(o.lr > 0)) bad("lr", "expected a positive learning rate");
  if (o.optimizer != "adamw" && o.optimizer != "sgd") bad("optimizer", "expected adamw or sgd");
  if (o.select != "loss" && o.select != "auc") bad("select", "expected loss or auc");
  if (o.balance != "loss" && o.balance != "sampler" && o.balance != "none")
    bad("balance", "expected loss, sampler or none");
  if (o.freeze < 0) bad("freeze", "expected 0 or more");
  if (o.patience < 1) bad("patience", "expected at least 1");
  if (o.warmup_epochs < 0) bad("warmup", "expected 0 or more");
  if (o.cache_mb < 0) bad("cache-mb", "expected 0 or more");
  if (!(o.lung_penalty >= 0) || !std::isfinite(o.lung_penalty))
    bad("lung-penalty", "expected a finite weight >= 0");
  if (!o.init_dir.empty() && !fs::is_directory(o.init_dir))
    bad("init", o.init_dir.string() + " is not a folder");
  check_dist_options(o.dist);
  if (o.dist.distributed() && o.dist.mode == DistMode::Data && o.batch < 2 * o.dist.world_size)
    bad("batch", "expected at least 2 images per rank (" + std::to_string(2 * o.dist.world_size) +
                     " for " + std::to_string(o.dist.world_size) + " ranks)");
}

std::string tag_of(const std::string& member, const PresetSpec& p, const TrainOptions& o,
                   double lr, const std::string& hash) {
  std::ostringstream s;
  s << "member=" << member << " preset=" << o.preset << " side=" << p.input_side << " width=" << p.width
    << " epochs=" << o.epochs << " batch=" << o.batch << " lr=" << lr << " wd=" << o.weight_decay
    << " optimizer=" << o.optimizer << " momentum=" << o.momentum << " warmup=" << o.warmup_epochs
    << " patience=" << o.patience << " select=" << o.select << " balance=" << o.balance
    << " augment=" << o.augment << " hflip=" << o.hflip << " seed=" << o.seed
    << " init=" << o.init_dir.string() << " freeze=" << o.freeze
    << " max_train_batches=" << o.max_train_batches << " data=" << hash;
  // Written only when on, so checkpoints of runs without the penalty keep their tag.
  if (o.lung_penalty > 0) s << " lung_penalty=" << o.lung_penalty;
  if (p.classifier_width > 0) s << " classifier_width=" << p.classifier_width;
  // Data parallel: BatchNorm sees each rank's rows, so a checkpoint resumes with its world size.
  if (o.dist.distributed() && o.dist.mode == DistMode::Data) s << " world=" << o.dist.world_size;
  return s.str();
}

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// The settings every member of a run shares, as the manifest records them (key -> value).
// Momentum (SGD only) and the test-only batch cap appear when they matter, so manifests
// written before they were recorded still compare equal for AdamW runs.
std::vector<std::pair<std::string, std::string>> training_settings(const TrainOptions& o) {
  std::vector<std::pair<std::string, std::string>> t = {
      {"epochs", std::to_string(o.epochs)}, {"batch", std::to_string(o.batch)},
      {"lr", num(o.lr)}, {"weight_decay", num(o.weight_decay)},
      {"optimizer", o.optimizer}, {"warmup_epochs", std::to_string(o.warmup_epochs)},
      {"patience", std::to_string(o.patience)}, {"select", o.select},
      {"balance", o.balance}, {"augment", o.augment ? "true" : "false"},
      {"hflip", o.hflip ? "true" : "false"}, {"init", o.init_dir.string()},
      {"freeze", std::to_string(o.freeze)},
      {"weights_dtype", to_string(o.weights_dtype)}};
  if (o.optimizer == "sgd") t.emplace_back("momentum", num(o.momentum));
  if (o.max_train_batches > 0) t.emplace_back("max_train_batches", std::to_string(o.max_train_batches));
  if (o.lung_penalty > 0) t.emplace_back("lung_penalty", num(o.lung_penalty));
  return t;
}

// A member's peak learning rate: its --member-lr entry, else --lr.
double lr_of(const TrainOptions& o, const std::string& member) {
  for (const auto& [name, lr] : o.member_lr)
    if (name == member) return lr;
  return o.lr;
}

void check_member_lr(const TrainOptions& o) {
  for (std::size_t i = 0; i < o.member_lr.size(); ++i) {
    const auto& [name, lr] = o.member_lr[i];
    if (std::find(o.members.begin(), o.members.end(), name) == o.members.end())
      throw ConfigError("--member-lr: '" + name + "' is not one of the members of this run (" +
                        join(o.members, ", ") + ")");
    if (!(lr > 0) || !std::isfinite(lr))
      throw ConfigError("--member-lr: " + name + "'s rate must be a positive number, got " + num(lr));
    for (std::size_t j = 0; j < i; ++j)
      if (o.member_lr[j].first == name) throw ConfigError("--member-lr: '" + name + "' is given twice");
  }
}

// The manifest keeps 6 significant digits (relative error up to 5e-6).
bool same_number(double a, double b) { return std::abs(a - b) <= 1e-5 * std::max(std::abs(a), std::abs(b)); }

// The entry of `old` (the output folder's earlier manifest) for `member`, when that member
// was trained exactly as this run would train it: same task and classes, data, seed,
// settings, preset, size and learning rate, its weights at out/<member>.pt, present and with
// the hash the manifest recorded. Such a member is kept as it is instead of being trained again, so a models folder can gain a member (or
// lose its checkpoints) without retraining the others. `why` says what differed.
std::optional<ModelEntry> keepable(const ModelsManifest& old, const std::string& member,
                                   const PresetSpec& p, const TrainOptions& o, const TaskSpec& task,
                                   const std::string& hash, const fs::path& out, std::string* why) {
  auto no = [&](const std::string& what) {
    *why = what;
    return std::nullopt;
  };
  const ModelEntry* e = nullptr;
  for (const auto& m : old.members)
    if (m.name == member) e = &m;
  if (!e) return no("");
  if (old.task != task.name || old.classes != task.classes) return no("trained for another task");
  if (old.data_hash != hash) return no("trained on other data (hash " + old.data_hash + ")");
  if (old.seed != o.seed) return no("trained with seed " + std::to_string(old.seed));
  auto ours = training_settings(o);
  std::string old_lr;  // the run's --lr as the manifest recorded it
  for (const auto& [k, v] : old.training) {
    if (k == "lr") {
      old_lr = v;
      continue;
    }
    auto it = std::find_if(ours.begin(), ours.end(), [&](const auto& kv) { return kv.first == k; });
    if (it == ours.end() || it->second != v) return no("trained with " + k + "=" + v);
  }
  if (old.training.size() != ours.size()) return no("trained with other settings");
  const double lr = e->lr ? *e->lr : std::strtod(old_lr.c_str(), nullptr);
  if (!same_number(lr, lr_of(o, member))) return no("trained with learning rate " + num(lr));
  if (e->preset != o.preset || e->input_side != p.input_side || !same_number(e->width, p.width) ||
      !same_number(e->classifier_width, p.classifier_width))
    return no("trained at preset " + e->preset);
  if (e->epochs < 1) return no("not trained here");
  // The new manifest lists out/<member>.pt: an entry pointing elsewhere is not this folder's.
  if (fs::absolute(e->file).lexically_normal() != fs::absolute(out / (member + ".pt")).lexically_normal())
    return no("its weights are in " + e->file.string());
  if (!fs::exists(e->file)) return no("its weights file " + e->file.string() + " is missing");
  // Manifests from before weights_hash was recorded are trusted on the file's existence.
  if (!e->weights_hash.empty() && e->weights_hash != weights_file_hash(e->file))
    return no("its weights file " + e->file.string() + " changed since (hash)");
  return *e;
}

}  // namespace

TrainSummary train_ensemble(const TaskSpec& task, const fs::path& data, const TrainOptions& options,
                            const fs::path& out) {
  const auto t_start = std::chrono::steady_clock::now();
  check_options(options);
  TrainOptions opt = options;
  // Several ranks: meet first, so a rank whose input is bad stops the others below.
  std::shared_ptr<Comm> comm;
  if (opt.dist.distributed()) comm = Comm::connect(opt.dist);
  const bool writer = !comm || comm->rank() == 0;  // the one process that writes files
  if (!writer && opt.dist.mode == DistMode::Data) opt.progress = false;  // rank 0 speaks for all
  if (opt.members.empty()) opt.members = task_default_members(task.name);
  for (const auto& m : opt.members) member_info(m);  // unknown names fail here, listed
  check_member_lr(opt);
  std::vector<MemberCard> cards;
  for (const auto& m : opt.members) cards.push_back(member_card(m, opt.preset));

  // Everything about the input is checked before the first member starts.
  TaskData td;
  std::string hash;
  std::optional<OutputLock> out_lock;
  std::exception_ptr bad_input;
  try {
    td = collect_task_data(task, data);
    hash = data_hash(data, td);
    if (writer) {
      fs::create_directories(out);
      out_lock.emplace(out);  // a second training into this folder fails now (output_dir.h)
      if (!opt.resume) fs::remove_all(out / "checkpoints");
    }
  } catch (...) {
    bad_input = std::current_exception();
  }
  raise_if_failed(comm.get(), bad_input, "another rank stopped before training (see its error)");

  // The cores in all: --threads, else every core TBB sees (parallel.h).
  const int threads = plan_threads(opt.threads, 1).cores;
  const int n_members = static_cast<int>(opt.members.size());
  // Automatic: one member per core when there are several members (measured faster on
  // small presets: see docs/architecture.md, "training"); a single member gets every core.
  int parallel = opt.parallel_members;
  if (parallel < 0) parallel = opt.preset == "full" ? 1 : threads;
  // Data parallel: one member at a time, on every rank (the ranks' collectives must come in
  // one order).
  if (comm && opt.dist.mode == DistMode::Data) parallel = 1;
  parallel = std::max(1, std::min({parallel, n_members, threads}));
  // parallel.h's plan: members in parallel get one torch thread each, one member at a time
  // gets every core. Applied below, around the training.
  const ThreadPlan plan = plan_training_threads(threads, parallel);

  Progress progress(opt.progress);
  progress.note("ensemble-train: task " + task.name + ", " + std::to_string(n_members) +
                " members at preset " + opt.preset + "; train/val/test " +
                std::to_string(td.split[0].size()) + "/" + std::to_string(td.split[1].size()) + "/" +
                std::to_string(td.split[2].size()) + " images; " + std::to_string(parallel) +
                " member(s) at a time, " + std::to_string(plan.intra_op_threads) +
                " thread(s) each");
  // An earlier manifest in the output folder: its members trained as this run would train
  // them, whose weights files are there and unchanged, are kept (see keepable). A manifest
  // that cannot be read keeps nothing, and the run says why.
  std::optional<ModelsManifest> old;
  if (opt.resume && (!comm || opt.dist.mode == DistMode::Members) &&
      fs::exists(out / "manifest.yaml")) {
    try {
      old = load_models_manifest(out, WeightFiles::may_be_missing);
    } catch (const Error& e) {
      progress.note("not keeping any member of " + (out / "manifest.yaml").string() + ": " + e.what());
    }
  }

  std::vector<train_detail::MemberOutcome> outcomes(n_members);  // not outcome.h's
  std::vector<MemberJob> jobs(n_members);
  // --init's manifest is read (and checked) once, before any member trains.
  const auto init = std::make_shared<const InitWeights>(init_weights(opt.init_dir));
  const int64_t cache_total = opt.cache_mb * 1024 * 1024;
  for (int i = 0; i < n_members; ++i) {
    auto& j = jobs[i];
    j.name = opt.members[i];
    j.preset = {cards[i].input_side, cards[i].width, cards[i].classifier_width};
    j.norm = cards[i].normalization;
    j.parallel_load = parallel == 1;
    j.cache_bytes = cache_total / parallel;  // members running at once share the bound
    j.lr = lr_of(opt, j.name);
    j.init = init;
    j.config_tag = tag_of(j.name, j.preset, opt, j.lr, hash);
    if (opt.dist.mode == DistMode::Data) j.comm = comm.get();
    // A checkpoint of other settings stops the run here, not after the members before it.
    if (writer) check_checkpoint(checkpoint_path(out, j.name), j.config_tag);
    // A checkpoint, when there is one, knows more (history, seconds): it wins.
    if (old && !fs::exists(checkpoint_path(out, j.name))) {
      std::string why;
      j.keep = keepable(*old, j.name, j.preset, opt, task, hash, out, &why);
      if (j.keep)
        progress.note(j.name + ": kept from " + (out / "manifest.yaml").string() +
                      " (trained with the same data and settings; --restart trains it again)");
      else if (!why.empty())
        progress.note(j.name + ": in " + (out / "manifest.yaml").string() + " but " + why +
                      "; training it again");
    }
  }
  // The members `which` (indices into jobs), one after another or `parallel` at a time.
  auto train_members = [&](const std::vector<int>& which, const TrainOptions& opt) {
    configure_threads(plan);
    const int count = static_cast<int>(which.size());
    if (parallel == 1) {
      // One after another: the time left of a member includes the members still to train
      // after it (kept members are only evaluated and do not count; one whose checkpoint says
      // finished still does: an over-estimate).
      for (int w = count - 2; w >= 0; --w)
        jobs[which[w]].members_after = jobs[which[w + 1]].members_after + (jobs[which[w + 1]].keep ? 0 : 1);
      for (int i : which) outcomes[i] = train_member(jobs[i], td, opt, out, progress);
      return;
    }
    // parallel.h's arena, one slot per member at a time; each member uses one torch thread,
    // so the arena and torch never oversubscribe the cores. Results land in their own slots;
    // every member runs to its end even when another fails, then the first failure is thrown.
    std::vector<std::exception_ptr> errors(n_members);
    for_each_member(
        static_cast<std::size_t>(count),
        [&](std::size_t w) {
          const int i = which[w];
          try {
            outcomes[i] = train_member(jobs[i], td, opt, out, progress);
          } catch (...) {
            errors[i] = std::current_exception();
          }
        },
        RunMode::Parallel);
    configure_threads(plan_training_threads(threads, 1));  // the rest of the run: every core
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  };
  std::vector<int> all(n_members);
  for (int i = 0; i < n_members; ++i) all[i] = i;
  if (comm && opt.dist.mode == DistMode::Members) {
    // Each rank trains members rank, rank + world, ... on its own (its checkpoints and weights
    // in the shared output folder), then waits for the others; rank 0 then takes the other
    // ranks' members from their finished checkpoints (evaluated, not trained again).
    std::vector<int> mine, theirs;
    for (int i = 0; i < n_members; ++i) (i % comm->world() == comm->rank() ? mine : theirs).push_back(i);
    std::exception_ptr failed;
    try {
      train_members(mine, opt);
    } catch (...) {
      failed = std::current_exception();
    }
    // A member takes as long as it takes: the wait for the slowest rank has no timeout of its
    // own (a week; a rank that dies is still seen at once, its connections close).
    comm->barrier(7 * 24 * 3600.0);
    comm->raise_if_failed_anywhere(failed, "another rank's members failed (see its error)");
    if (!writer) {
      TrainSummary partial;
      for (int i : mine) partial.members.push_back(outcomes[i].summary);
      partial.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
      return partial;
    }
    for (int i : theirs)
      if (!jobs[i].keep && !fs::exists(checkpoint_path(out, jobs[i].name)))
        throw DistributedError(describe(opt.dist) + ": " + jobs[i].name + " was trained by rank " +
                               std::to_string(i % comm->world()) + ", but its checkpoint " +
                               checkpoint_path(out, jobs[i].name).string() +
                               " is not here: --dist-mode members needs the output folder on a "
                               "file system every rank shares");
    // Their finished checkpoints are read whatever --restart said (it applied to this run's
    // start: rank 0 cleared the folder's checkpoints before any rank trained).
    TrainOptions collect = opt;
    collect.resume = true;
    train_members(theirs, collect);
  } else {
    train_members(all, opt);
  }

  TrainSummary summary;
  summary.parallel_members = parallel;
  const int k = task.num_classes();
  std::vector<float> vote(td.split[2].size() * k, 0.0f);
  for (const auto& o : outcomes) {
    summary.members.push_back(o.summary);
    for (std::size_t i = 0; i < vote.size(); ++i) vote[i] += o.test_probs[i] / n_members;
  }
  std::vector<int64_t> test_labels;
  for (const auto& it : td.split[2]) test_labels.push_back(it.label);
  summary.ensemble_test = compute_metrics(vote, test_labels, k);
  if (!writer) {  // rank 0 writes the folder
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    return summary;
  }

  ModelsManifest mm;
  mm.task = task.name;
  mm.classes = task.classes;
  mm.data_hash = hash;
  mm.data_path = data.string();
  mm.seed = opt.seed;
  mm.created = iso_utc_now();
  mm.gradgate_version = gradgate_version();
  mm.ensemble_test_accuracy = summary.ensemble_test.accuracy;
  mm.ensemble_test_auc = summary.ensemble_test.auc;
  mm.training = training_settings(opt);
  for (int i = 0; i < n_members; ++i) {
    const auto& s = summary.members[i];
    ModelEntry e;
    e.name = s.name;
    e.preset = opt.preset;
    e.input_side = s.input_side;
    e.width = s.width;
    e.classifier_width = s.classifier_width;
    e.file = fs::absolute(out) / s.file;  // the manifest stores it relative to its folder
    e.normalization = cards[i].normalization;
    e.epochs = s.epochs_run;
    e.best_epoch = s.best_epoch;
    e.val_metric_name = opt.select;
    e.val_metric = s.val_metric;
    e.test_accuracy = s.test.accuracy;
    e.test_auc = s.test.auc;
    e.test_recall = s.test.recall;
    e.lr = jobs[i].lr;
    if (s.train_seconds > 0) e.train_seconds = s.train_seconds;
    if (!s.train_outside_share.empty()) e.train_outside_share = s.train_outside_share.back();
    e.weights_hash = weights_file_hash(e.file);
    mm.members.push_back(e);
  }
  // A rerun that kept every member (same weights, same data) keeps their domain check too:
  // refitting it costs a pass over the whole data set and gives the same model.
  const bool domain_still_fits = old && old->domain && old->domain->excluded_sources.empty() &&
                                 old->domain->data_hash == hash &&
                                 old->domain->members_hash == domain_members_hash(mm) &&
                                 fs::exists(old->domain->file) &&
                                 weights_file_hash(old->domain->file) == old->domain->hash;
  if (opt.fit_domain && domain_still_fits) mm.domain = old->domain;
  save_models_manifest(mm, out);
  summary.manifest = out / "manifest.yaml";
  if (opt.fit_domain && domain_still_fits) {
    progress.note("domain check: " + old->domain->file.string() +
                  " kept (fitted on these members' weights and this data set)");
  } else if (opt.fit_domain) {
    // The members just written get their domain check, so classify can say when a film is
    // unlike their training images. The run already holds the folder's lock.
    DomainFitRequest dr;
    dr.models_dir = out;
    dr.data = data;
    dr.task_spec = task;
    dr.threads = opt.threads;
    dr.progress = opt.progress;
    dr.lock_folder = false;
    const DomainFitSummary d = fit_models_domain(dr);
    progress.note("domain check: " + d.file.string() + " fitted on " + std::to_string(d.train_images) +
                  " train images, flags " + num(100.0 * d.val_flagged) + "% of " +
                  std::to_string(d.val_images) + " val images");
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return summary;
}

fs::path import_members(const TaskSpec& task, const fs::path& from, const ImportOptions& options,
                        const fs::path& out) {
  if (!fs::is_directory(from)) throw ModelError("--from: " + from.string() + " is not a folder");
  std::vector<std::string> members = options.members;
  if (members.empty()) {
    for (const auto& name : member_names())
      if (fs::exists(from / (name + ".pt"))) members.push_back(name);
    if (members.empty())
      throw ModelError(from.string() + ": no <member>.pt state dicts named after a member (e.g. resnet18.pt)");
  }
  ModelsManifest mm;
  mm.task = task.name;
  mm.classes = task.classes;
  mm.created = iso_utc_now();
  mm.gradgate_version = gradgate_version();
  fs::create_directories(out);
  for (const auto& name : members) {
    const fs::path file = from / (name + ".pt");
    if (!fs::exists(file)) throw ModelError("import: " + file.string() + " does not exist");
    const MemberCard card = member_card(name, options.preset);
    const PresetSpec p{card.input_side, card.width, card.classifier_width};
    MemberOptions mo;
    mo.num_classes = task.num_classes();
    mo.width = p.width;
    mo.input_side = p.input_side;
    mo.classifier_width = p.classifier_width;
    Member m = make_member(name, mo);
    try {
      load_weights(*m, file, /*transfer=*/false);  // strict: the classifier must fit the task
    } catch (const ModelError& e) {
      throw ModelError("import of " + file.string() + " for task '" + task.name + "' (" +
                       std::to_string(task.num_classes()) + " classes) at preset " +
                       options.preset + " failed: " + e.what());
    }
    save_weights(*m, out / (name + ".pt"));
    ModelEntry e;
    e.name = name;
    e.preset = options.preset;
    e.input_side = p.input_side;
    e.width = p.width;
    e.classifier_width = p.classifier_width;
    e.file = fs::absolute(out) / (name + ".pt");
    e.weights_hash = weights_file_hash(e.file);
    e.normalization = card.normalization;
    mm.members.push_back(e);
  }
  save_models_manifest(mm, out);
  return out / "manifest.yaml";
}

}  // namespace gradgate
