#include "train/member_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>

#include "gradgate/common/atomic_file.h"
#include "gradgate/common/fnv1a.h"
#include "gradgate/distributed.h"
#include "gradgate/error.h"
#include "gradgate/gradient_reducer.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/train_step.h"
#include "gradgate/zoo/registry.h"
#include "gradgate/zoo/seeded_dropout.h"
#include "gradgate/zoo/weights.h"

namespace gradgate::train_detail {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::mutex& torch_rng_mutex() {
  static std::mutex mu;
  return mu;
}

fs::path checkpoint_path(const fs::path& out, const std::string& member) {
  return out / "checkpoints" / (member + ".ckpt");
}

namespace {

// Parameters then buffers, in registration order: the model's full state as a list.
std::vector<torch::Tensor> state_tensors(torch::nn::Module& m) {
  std::vector<torch::Tensor> v = m.parameters();
  for (auto& b : m.buffers()) v.push_back(b);
  return v;
}

std::vector<torch::Tensor> snapshot(torch::nn::Module& m) {
  std::vector<torch::Tensor> v;
  for (auto& t : state_tensors(m)) v.push_back(t.detach().clone());
  return v;
}

void restore(torch::nn::Module& m, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  auto live = state_tensors(m);
  if (live.size() != saved.size())
    throw ModelError("saved state has " + std::to_string(saved.size()) + " tensors, the member " +
                     std::to_string(live.size()));
  for (std::size_t i = 0; i < live.size(); ++i) live[i].copy_(saved[i]);
}

// lr at optimisation step `step` of `total`: linear warm-up, then cosine decay to 0.
double lr_at(double base, int64_t step, int64_t warmup, int64_t total) {
  if (warmup > 0 && step < warmup) return base * static_cast<double>(step + 1) / warmup;
  const double t = static_cast<double>(step - warmup) / std::max<int64_t>(1, total - warmup);
  return base * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, t)));
}

struct State {
  int epoch = 0;        // epochs completed
  int best_epoch = 0;   // 1-based, 0 = none yet
  double best = 0.0;    // selection metric at best_epoch
  int bad_epochs = 0;   // epochs since the last improvement
  int64_t step = 0;     // optimisation steps done
  bool finished = false;
  double seconds = 0.0;   // training time so far (all sessions)
  int64_t images = 0;     // training images processed so far
  std::vector<double> history;  // selection metric per epoch
  std::vector<double> train_loss;  // mean training loss per epoch (cross-entropy)
  std::vector<double> outside_share;  // with the lung penalty: mean outside-lung share per epoch
};

void save_checkpoint(const fs::path& path, const std::string& tag, torch::nn::Module& model,
                     const std::vector<torch::Tensor>& best, torch::optim::Optimizer& opt,
                     const State& st) {
  torch::serialize::OutputArchive a;
  a.write("tag", c10::IValue(tag));
  torch::serialize::OutputArchive m, b, o;
  model.save(m);
  a.write("model", m);
  for (std::size_t i = 0; i < best.size(); ++i) b.write("t" + std::to_string(i), best[i]);
  a.write("best", b);
  opt.save(o);
  a.write("optimizer", o);
  a.write("epoch", c10::IValue(static_cast<int64_t>(st.epoch)));
  a.write("best_epoch", c10::IValue(static_cast<int64_t>(st.best_epoch)));
  a.write("best_metric", c10::IValue(st.best));
  a.write("bad_epochs", c10::IValue(static_cast<int64_t>(st.bad_epochs)));
  a.write("step", c10::IValue(st.step));
  a.write("finished", c10::IValue(st.finished));
  a.write("seconds", c10::IValue(st.seconds));
  a.write("images", c10::IValue(st.images));
  a.write("history", torch::tensor(st.history, torch::kFloat64));
  a.write("train_loss", torch::tensor(st.train_loss, torch::kFloat64));
  a.write("outside_share", torch::tensor(st.outside_share, torch::kFloat64));
  a.write("torch_rng", torch::globalContext().defaultGenerator(torch::kCPU).get_state());
  // Temp file then rename: a kill mid-write leaves the previous checkpoint intact, and a
  // temp file is never read.
  write_file_atomic_with(path, [&](const fs::path& tmp) { a.save_to(tmp.string()); });
}

// The checkpoint at `path`, or (`bytes` given) its bytes as rank 0 read and sent them.
torch::serialize::InputArchive read_checkpoint(const fs::path& path, const std::string& tag,
                                               const std::string* bytes = nullptr) {
  torch::serialize::InputArchive a;
  if (!bytes) check_torch_archive(path.string(), "checkpoint");
  try {
    if (bytes)
      a.load_from(bytes->data(), bytes->size());
    else
      a.load_from(path.string());
  } catch (const std::exception& e) {
    throw ModelError("checkpoint " + path.string() + " cannot be read (" + error_text(e) +
                     "); delete it to start this member again");
  }
  c10::IValue v;
  a.read("tag", v);
  if (v.toStringRef() != tag)
    throw ModelError("checkpoint " + path.string() +
                     " was written by a run with other settings; rerun with the same command, "
                     "or use --restart (or delete it) to start again.\n  checkpoint: " +
                     v.toStringRef() + "\n  this run:   " + tag);
  return a;
}

bool load_checkpoint(const fs::path& path, const std::string& tag, torch::nn::Module& model,
                     std::vector<torch::Tensor>& best, torch::optim::Optimizer& opt, State& st,
                     const std::string* bytes = nullptr) {
  if (bytes ? bytes->empty() : !fs::exists(path)) return false;
  torch::serialize::InputArchive a = read_checkpoint(path, tag, bytes);
  torch::serialize::InputArchive m, b, o;
  a.read("model", m);
  model.load(m);
  a.read("best", b);
  best = state_tensors(model);
  for (std::size_t i = 0; i < best.size(); ++i) {
    torch::Tensor t;
    b.read("t" + std::to_string(i), t);
    best[i] = t;
  }
  a.read("optimizer", o);
  opt.load(o);
  auto geti = [&](const char* k) {
    c10::IValue x;
    a.read(k, x);
    return x;
  };
  st.epoch = static_cast<int>(geti("epoch").toInt());
  st.best_epoch = static_cast<int>(geti("best_epoch").toInt());
  st.best = geti("best_metric").toDouble();
  st.bad_epochs = static_cast<int>(geti("bad_epochs").toInt());
  st.step = geti("step").toInt();
  st.finished = geti("finished").toBool();
  st.seconds = geti("seconds").toDouble();
  st.images = geti("images").toInt();
  torch::Tensor h, rng;
  a.read("history", h);
  st.history.assign(h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
  a.read("train_loss", h);
  st.train_loss.assign(h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
  // Checkpoints written before the lung penalty existed have no outside_share.
  if (a.try_read("outside_share", h))
    st.outside_share.assign(h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
  a.read("torch_rng", rng);
  std::lock_guard<std::mutex> lock(torch_rng_mutex());
  auto gen = torch::globalContext().defaultGenerator(torch::kCPU);
  gen.set_state(rng);
  return true;
}

// Data parallel: rank 0's checkpoint file, its bytes sent to every rank (the others need not
// see rank 0's disk); empty when there is none or resume is off.
std::string shared_checkpoint_bytes(Comm& comm, const fs::path& path, bool resume) {
  std::string bytes;
  std::exception_ptr failed;
  if (comm.rank() == 0 && resume && fs::exists(path)) {
    try {
      check_torch_archive(path.string(), "checkpoint");
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (in.bad()) throw ModelError("checkpoint " + path.string() + " cannot be read");
    } catch (...) {
      failed = std::current_exception();
    }
  }
  // Rank 0's failure stops every rank now, not at the next collective's timeout.
  comm.raise_if_failed_anywhere(failed, "rank 0 could not read the checkpoint " + path.string() +
                                            " (see rank 0's error)");
  return comm.broadcast_bytes(bytes);
}

// Data parallel, after each epoch: the ranks' BatchNorm running statistics (each rank's came
// from its own rows) replaced by their mean, so validation, the checkpoint and the weights are
// the same on every rank. Integer buffers (batches tracked) are equal on all ranks already.
void average_buffers(torch::nn::Module& m, Comm& comm) {
  std::vector<torch::Tensor> floats;
  for (auto& b : m.buffers())
    if (b.is_floating_point()) floats.push_back(b);
  comm.allreduce_sum(floats);
  torch::NoGradGuard no_grad;
  for (auto& b : floats) b.div_(comm.world());
}

}  // namespace

void check_checkpoint(const fs::path& path, const std::string& tag) {
  if (fs::exists(path)) read_checkpoint(path, tag);
}

InitWeights init_weights(const fs::path& dir) {
  InitWeights w;
  w.dir = dir;
  if (!dir.empty() && fs::exists(dir / "manifest.yaml")) w.manifest = load_models_manifest(dir);
  return w;
}

Member build_member(const std::string& name, const PresetSpec& preset, int64_t classes,
                    const InitWeights* init_weights, uint64_t seed, std::string* log) {
  std::lock_guard<std::mutex> lock(torch_rng_mutex());
  torch::manual_seed(mix_seed(seed, fnv1a64(name, kGradgateFnvBasis), 0x1417));
  MemberOptions mo;
  mo.num_classes = classes;
  mo.width = preset.width;
  mo.input_side = preset.input_side;
  mo.classifier_width = preset.classifier_width;
  Member m = make_member(name, mo);
  if (init_weights && !init_weights->dir.empty()) {
    const fs::path& init = init_weights->dir;
    fs::path file = init / (name + ".pt");
    std::string from;
    // A gradgate models folder (its manifest.yaml): the member's file as listed there, trained
    // at this run's side and width (another side would start from features of another scale).
    if (init_weights->manifest) {
      const ModelsManifest& mm = *init_weights->manifest;
      const auto it = std::find_if(mm.members.begin(), mm.members.end(),
                                   [&](const ModelEntry& e) { return e.name == name; });
      if (it == mm.members.end())
        throw ModelError("--init: the models folder " + init.string() + " (task " + mm.task +
                         ") has no member '" + name + "'");
      if (it->input_side != preset.input_side || std::abs(it->width - preset.width) > 1e-9)
        throw ModelError("--init: " + init.string() + "'s " + name + " is " +
                         std::to_string(it->input_side) + " px at width " + std::to_string(it->width) +
                         "; this run's preset gives " + std::to_string(preset.input_side) +
                         " px at width " + std::to_string(preset.width));
      file = it->file;
      from = " (gradgate models folder, task " + mm.task + ")";
    }
    if (!fs::exists(file))
      throw ModelError("--init: no starting weights for member '" + name + "': " + file.string() +
                       " does not exist");
    std::string what = load_weights(*m, file, /*transfer=*/true);
    m->reset_classifier(classes);  // a fresh classifier for the task's classes
    if (log) *log = what + from;
  }
  return m;
}

std::vector<float> predict(const Member& member, Feeder& feeder, int batch, bool parallel_load,
                           Comm* comm) {
  torch::NoGradGuard no_grad;
  member->eval();
  const std::size_t world = comm ? static_cast<std::size_t>(comm->world()) : 1;
  const std::size_t rank = comm ? static_cast<std::size_t>(comm->rank()) : 0;
  std::vector<std::size_t> mine;  // this rank's items: rank, rank + world, ...
  for (std::size_t i = rank; i < feeder.size(); i += world) mine.push_back(i);
  std::vector<float> probs;
  int64_t classes = 0;
  for (std::size_t start = 0; start < mine.size(); start += batch) {
    std::vector<std::size_t> idx(mine.begin() + start,
                                 mine.begin() + std::min(mine.size(), start + batch));
    auto p = torch::softmax(member->forward(feeder.batch(idx, nullptr, 0, parallel_load)), 1)
                 .contiguous();
    classes = p.size(1);
    probs.insert(probs.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  }
  if (world == 1) return probs;
  // Every rank's rows, put back in item order (item i is row i / world of rank i % world).
  if (classes == 0) classes = member->forward(feeder.batch({0}, nullptr, 0, false)).size(1);
  const auto parts = comm->allgather(
      torch::from_blob(probs.data(), {static_cast<int64_t>(mine.size()), classes}, torch::kFloat32));
  std::vector<float> all(feeder.size() * classes);
  for (std::size_t i = 0; i < feeder.size(); ++i) {
    const torch::Tensor& part = parts[i % world];
    std::copy_n(part.data_ptr<float>() + (i / world) * classes, classes, all.data() + i * classes);
  }
  return all;
}

namespace {

// The summary's identity and its validation and test figures for the final weights; the
// test probabilities feed the ensemble's soft vote.
void evaluate(const Member& model, const MemberJob& job, const TaskData& data,
              const TrainOptions& opt, Feeder& val_f, Feeder& test_f, MemberOutcome& result) {
  const int k = static_cast<int>(data.classes.size());
  auto& s = result.summary;
  s.name = job.name;
  s.input_side = job.preset.input_side;
  s.width = job.preset.width;
  s.classifier_width = job.preset.classifier_width;
  s.file = job.name + ".pt";
  std::vector<int64_t> vl, tl;
  for (const auto& it : data.split[1]) vl.push_back(it.label);
  for (const auto& it : data.split[2]) tl.push_back(it.label);
  s.val = compute_metrics(predict(model, val_f, opt.batch, job.parallel_load, job.comm), vl, k);
  result.test_probs = predict(model, test_f, opt.batch, job.parallel_load, job.comm);
  s.test = compute_metrics(result.test_probs, tl, k);
}

// A member the output folder already holds, trained with this run's data and settings
// (job.keep): its weights are loaded strictly and evaluated; the epochs, the chosen epoch, its
// validation metric and the training time come from the manifest.
MemberOutcome kept_member(const MemberJob& job, const TaskData& data, const TrainOptions& opt,
                          const fs::path& out, Progress& progress) {
  const ModelEntry& e = *job.keep;
  // Built as a trained member is (seeded, under the RNG mutex), so members trained beside this
  // one keep their seeded start; the weights are then replaced by the kept ones.
  Member model = build_member(job.name, job.preset, static_cast<int64_t>(data.classes.size()), nullptr,
                              opt.seed, nullptr);
  try {
    load_weights(*model, e.file, /*transfer=*/false);
  } catch (const ModelError& err) {
    throw ModelError(job.name + ": the weights " + e.file.string() + " listed in " +
                     (out / "manifest.yaml").string() + " do not load (" + err.what() +
                     "); use --restart to train every member again");
  }
  Feeder val_f(data.split[1], job.preset.input_side, job.norm, job.cache_bytes / 2);
  Feeder test_f(data.split[2], job.preset.input_side, job.norm, job.cache_bytes / 2);
  MemberOutcome result;
  auto& s = result.summary;
  s.kept = true;
  s.epochs_run = e.epochs;
  s.best_epoch = e.best_epoch;
  s.val_metric = e.val_metric.value_or(std::nan(""));
  s.train_seconds = e.train_seconds.value_or(0.0);
  if (e.train_outside_share) s.train_outside_share = {*e.train_outside_share};
  evaluate(model, job, data, opt, val_f, test_f, result);
  progress.finish(job.name);
  return result;
}

}  // namespace

MemberOutcome train_member(const MemberJob& job, const TaskData& data, const TrainOptions& opt,
                           const fs::path& out, Progress& progress) {
  // Threads: train_ensemble's parallel.h plan is in force (configure_threads; for_each_member
  // brings each worker to the plan's intra-op count), so members trained in parallel do not
  // each fan out.
  if (job.keep) return kept_member(job, data, opt, out, progress);
  const int64_t k = static_cast<int64_t>(data.classes.size());
  const uint64_t mh = fnv1a64(job.name, kGradgateFnvBasis);
  std::string init_log;
  Member model = build_member(job.name, job.preset, k, job.init.get(), opt.seed, &init_log);
  if (!init_log.empty()) progress.note(job.name + ": loaded " + init_log);

  // Freezing: the first `freeze` parameter tensors (the stem and early blocks) keep their
  // starting values; meant for --init.
  auto named = model->named_parameters();
  if (opt.freeze > static_cast<int>(named.size()))
    throw ConfigError("--freeze " + std::to_string(opt.freeze) + ": member '" + job.name +
                      "' has only " + std::to_string(named.size()) + " parameter tensors");
  std::vector<torch::Tensor> trainable;
  for (std::size_t i = 0; i < named.size(); ++i) {
    if (static_cast<int>(i) < opt.freeze)
      named[i].value().set_requires_grad(false);
    else
      trainable.push_back(named[i].value());
  }
  std::unique_ptr<torch::optim::Optimizer> optimizer = make_optimizer(trainable, opt);

  // Class balance: weights n / (k * n_c) in the loss, or a sampler drawing classes equally.
  const auto& counts = data.counts[0];
  const double n_train = static_cast<double>(data.split[0].size());
  std::vector<double> class_w(k, 1.0);
  if (opt.balance == "loss")
    for (int64_t c = 0; c < k; ++c) class_w[c] = n_train / (k * static_cast<double>(counts[c]));
  torch::Tensor class_w_t = torch::tensor(class_w, torch::kFloat64).to(torch::kFloat32);

  Feeder train_f(data.split[0], job.preset.input_side, job.norm, job.cache_bytes * 7 / 10);
  Feeder val_f(data.split[1], job.preset.input_side, job.norm, job.cache_bytes * 3 / 20);
  Feeder test_f(data.split[2], job.preset.input_side, job.norm, job.cache_bytes * 3 / 20);
  AugmentSpec aug;
  aug.enabled = opt.augment;
  aug.hflip = opt.hflip;

  // Data parallel: this rank takes rows rank, rank + world, ... of every batch.
  Comm* const comm = job.comm;
  const int64_t world = comm ? comm->world() : 1, rank = comm ? comm->rank() : 0;
  const bool writer = rank == 0;  // checkpoints and weights: rank 0's alone

  const std::size_t n = data.split[0].size();
  int64_t batches = static_cast<int64_t>((n + opt.batch - 1) / opt.batch);
  // A last batch that would leave a rank one image (batch normalisation in training mode
  // needs two) is dropped: one image in one process, fewer than 2 per rank in several.
  const int64_t last = static_cast<int64_t>(n) - (batches - 1) * opt.batch;
  if (last < 2 * world && batches > 1) --batches;
  if (opt.max_train_batches > 0) batches = std::min(batches, opt.max_train_batches);
  const int64_t total_steps = batches * opt.epochs, warmup = batches * opt.warmup_epochs;

  const fs::path ckpt = checkpoint_path(out, job.name);
  if (writer) fs::create_directories(ckpt.parent_path());
  State st;
  std::vector<torch::Tensor> best = snapshot(*model);
  MemberOutcome result;
  if (comm) {
    const std::string bytes = shared_checkpoint_bytes(*comm, ckpt, opt.resume);
    result.summary.resumed = load_checkpoint(ckpt, job.config_tag, *model, best, *optimizer, st, &bytes);
    // The ranks built the member from the same seed; rank 0's weights make it certain.
    comm->broadcast(state_tensors(*model));
  } else {
    result.summary.resumed = opt.resume && load_checkpoint(ckpt, job.config_tag, *model, best, *optimizer, st);
  }
  if (result.summary.resumed)
    progress.note(job.name + ": resuming from " + ckpt.string() + " after epoch " +
                  std::to_string(st.epoch) + (st.finished ? " (finished)" : ""));
  const bool higher_better = opt.select == "auc";
  // Data parallel: gradients summed while backward runs. The time spent after backward
  // waiting for the last buckets (this session), against the epochs' training time.
  std::unique_ptr<GradientReducer> reducer;
  if (comm) reducer = std::make_unique<GradientReducer>(*comm, trainable);
  double sync_seconds = 0.0, session_train_seconds = 0.0;
  std::vector<double> epoch_rates;  // training images/s of each epoch of this session

  while (!st.finished && st.epoch < opt.epochs) {
    const int epoch = st.epoch;  // 0-based
    const auto t0 = Clock::now();
    // Every random choice of this epoch comes from (seed, member, epoch): a resumed run draws
    // exactly what the uninterrupted run would have.
    {
      std::lock_guard<std::mutex> lock(torch_rng_mutex());
      torch::manual_seed(mix_seed(opt.seed, mh, epoch + 1, 0xd209));
    }
    // Dropout draws from the member's own generators (zoo/seeded_dropout.h): the global one
    // above is re-seeded by every member running beside this one at its own epoch start.
    seed_dropout(*model, mix_seed(opt.seed, mh, epoch + 1, 0xd7a0));
    std::mt19937_64 rng(mix_seed(opt.seed, mh, epoch + 1, 0x5bf1));
    std::vector<std::size_t> order(n);
    if (opt.balance == "sampler") {
      std::vector<double> w(n);
      for (std::size_t i = 0; i < n; ++i) w[i] = 1.0 / counts[data.split[0][i].label];
      std::discrete_distribution<std::size_t> pick(w.begin(), w.end());
      for (auto& o : order) o = pick(rng);
    } else {
      for (std::size_t i = 0; i < n; ++i) order[i] = i;
      for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    }
    model->train();
    double loss_sum = 0.0, outside_sum = 0.0;
    int64_t seen = 0, masked_seen = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const std::vector<std::size_t> idx(order.begin() + b * opt.batch,
                                         order.begin() + std::min<std::size_t>(n, (b + 1) * opt.batch));
      std::vector<std::size_t> local;  // this rank's rows of the batch
      for (std::size_t r = static_cast<std::size_t>(rank); r < idx.size(); r += world) local.push_back(idx[r]);
      // One draw per image and batch: the image and (with the lung penalty) its mask move alike.
      // Images draw from their own index, so a rank draws what one process would.
      const uint64_t aug_seed = mix_seed(opt.seed, mh, epoch + 1, b);
      torch::Tensor x = train_f.batch(local, &aug, aug_seed, job.parallel_load);
      std::vector<int64_t> ys;
      for (auto i : local) ys.push_back(data.split[0][i].label);
      torch::Tensor y = torch::tensor(ys, torch::kInt64);
      for (auto& g : optimizer->param_groups())
        g.options().set_lr(lr_at(job.lr, st.step, warmup, total_steps));
      LungPenaltyInput penalty;
      if (opt.lung_penalty > 0) {
        penalty.weight = opt.lung_penalty;
        penalty.masks = train_f.masks(local, &aug, aug_seed, job.parallel_load, penalty.has_mask);
      }
      DistributedStep ds;
      torch::Tensor parts;  // data parallel: the step's loss parts, summed over the ranks
      if (comm) {
        for (auto i : idx) {
          const auto& item = data.split[0][i];
          ds.global_weight += opt.balance == "loss" ? class_w[item.label] : 1.0;
          if (!item.mask.empty()) ++ds.global_masked;
        }
        // The ranks' parts of the batch's mean loss (and outside share) add up to the means:
        // summed with the gradients, in the same round.
        ds.before_backward = [&reducer, &parts](const StepLoss& mine) {
          parts = torch::tensor({mine.cross_entropy, mine.outside_share}, torch::kFloat64);
          reducer->begin_step({parts});
        };
        ds.after_backward = [&reducer, &sync_seconds] {
          const auto s0 = Clock::now();
          reducer->finish_step();
          sync_seconds += std::chrono::duration<double>(Clock::now() - s0).count();
        };
        shard_dropout(*model, static_cast<int64_t>(idx.size()), rank, world);
      }
      StepLoss step = train_step(model, *optimizer, x, y,
                                 opt.balance == "loss" ? class_w_t : torch::Tensor(),
                                 opt.lung_penalty > 0 ? &penalty : nullptr, comm ? &ds : nullptr);
      if (comm) {
        step.cross_entropy = parts[0].item<double>();
        step.outside_share = parts[1].item<double>();
        step.masked = ds.global_masked;
      }
      const double loss = step.cross_entropy;
      outside_sum += step.outside_share * step.masked;
      masked_seen += step.masked;
      ++st.step;
      loss_sum += loss * idx.size();
      seen += static_cast<int64_t>(idx.size());
      const double el = std::chrono::duration<double>(Clock::now() - t0).count();
      const double per_batch = el / (b + 1);
      progress.batch(job.name, epoch + 1, opt.epochs, static_cast<int>(b + 1),
                     static_cast<int>(batches), loss_sum / seen,
                     per_batch * ((batches - b - 1) + batches * (opt.epochs - epoch - 1)));
    }
    const double train_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (comm) {
      shard_dropout(*model, 0, 0, 1);
      average_buffers(*model, *comm);
    }
    auto vp = predict(model, val_f, opt.batch, job.parallel_load, comm);
    std::vector<int64_t> vl;
    for (const auto& it : data.split[1]) vl.push_back(it.label);
    const EvalMetrics vm =
        compute_metrics(vp, vl, static_cast<int>(k), opt.balance == "loss" ? class_w : std::vector<double>{});
    const double metric = higher_better ? vm.auc : vm.loss;
    st.history.push_back(metric);
    st.train_loss.push_back(loss_sum / std::max<int64_t>(1, seen));
    if (opt.lung_penalty > 0)
      st.outside_share.push_back(masked_seen > 0 ? outside_sum / masked_seen : 0.0);
    const bool improved = st.best_epoch == 0 || (higher_better ? metric > st.best : metric < st.best);
    if (improved) {
      st.best = metric;
      st.best_epoch = epoch + 1;
      st.bad_epochs = 0;
      best = snapshot(*model);
    } else {
      ++st.bad_epochs;
    }
    st.epoch = epoch + 1;
    st.seconds += train_seconds;
    session_train_seconds += train_seconds;
    if (train_seconds > 0) epoch_rates.push_back(static_cast<double>(seen) / train_seconds);
    st.images += seen;
    if (st.epoch >= opt.epochs || st.bad_epochs >= opt.patience) st.finished = true;
    if (writer) save_checkpoint(ckpt, job.config_tag, *model, best, *optimizer, st);
    const double epoch_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const int left = st.finished ? 0 : opt.epochs - st.epoch;
    progress.epoch(job.name, st.epoch, opt.epochs, loss_sum / std::max<int64_t>(1, seen),
                   opt.select, metric, epoch_s * (left + job.members_after * opt.epochs));
    if (st.bad_epochs >= opt.patience && st.epoch < opt.epochs)
      progress.note(job.name + ": early stop after epoch " + std::to_string(st.epoch) + " (no " +
                    opt.select + " improvement for " + std::to_string(opt.patience) + " epochs)");
  }
  if (epoch_rates.size() > 1) {
    // The first epoch reads the films from disk, later ones from the cache: say both.
    std::string rates;
    for (double r : epoch_rates) {
      char b[32];
      std::snprintf(b, sizeof b, "%s%.1f", rates.empty() ? "" : ", ", r);
      rates += b;
    }
    progress.note(job.name + ": training images/s by epoch: " + rates);
  }
  if (comm && session_train_seconds > 0)
    progress.note(job.name + ": waited " + std::to_string(std::lround(sync_seconds * 1000)) +
                  " ms after backward for the gradients' all-reduce, of " +
                  std::to_string(std::lround(session_train_seconds * 1000)) + " ms training (" +
                  std::to_string(std::lround(100.0 * sync_seconds / session_train_seconds)) + "%; " +
                  std::to_string(reducer->launched_early()) + " of " +
                  std::to_string(reducer->launched_total()) + " buckets sent during backward, rank " +
                  std::to_string(rank) + ")");
  progress.finish(job.name);

  restore(*model, best);
  round_to_storage(*model, opt.weights_dtype);  // evaluated below as the file will hold it
  if (writer) save_weights(*model, out / (job.name + ".pt"), opt.weights_dtype);
  auto& s = result.summary;
  s.epochs_run = st.epoch;
  s.best_epoch = st.best_epoch;
  s.val_metric = st.best;
  s.train_seconds = st.seconds;
  s.train_loss = st.train_loss;
  s.val_history = st.history;
  s.train_outside_share = st.outside_share;
  s.images_per_second = st.seconds > 0 ? st.images / st.seconds : 0.0;
  evaluate(model, job, data, opt, val_f, test_f, result);
  return result;
}

}  // namespace gradgate::train_detail
