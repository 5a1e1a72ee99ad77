#include "gradgate/classify.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <memory>
#include <iostream>

#include <tbb/parallel_for.h>

#include "gradgate/config.h"
#include "gradgate/ensemble.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/inputs.h"
#include "gradgate/common/strings.h"
#include "gradgate/member_card.h"
#include "gradgate/output_dir.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/report.h"
#include "gradgate/comm.h"
#include "gradgate/task.h"

namespace gradgate {

namespace fs = std::filesystem;

namespace {

// Members, their cards and weights: from the models folder's manifest when there is one
// (each member with the side, width and normalisation it was trained with), else the task's
// members at the preset from networks.yaml, with random weights.
std::vector<EnsembleMemberSpec> resolve_members(const ClassifyRequest& rq, const TaskConfig& task,
                                                const NetworksConfig& nets, const fs::path& models_dir,
                                                std::optional<TunedGate>* tuned) {
  std::vector<EnsembleMemberSpec> specs;
  const fs::path manifest_file = models_dir / "manifest.yaml";
  if (fs::exists(manifest_file)) {
    const ModelsManifest mf = load_models_manifest(manifest_file);
    *tuned = mf.gate;
    if (mf.task != task.task.name)
      throw ConfigError(manifest_file.string() + ": models trained for task '" + mf.task +
                        "', not the requested task '" + task.task.name + "'");
    if (mf.classes != task.task.classes)
      throw ConfigError(manifest_file.string() + ": classes [" + join(mf.classes, ", ") +
                        "] differ from task " + task.task.name + "'s [" +
                        join(task.task.classes, ", ") + "]");
    const std::vector<std::string> wanted =
        rq.members.empty() ? std::vector<std::string>{} : rq.members;
    for (const auto& e : mf.members) {
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), e.name) == wanted.end()) continue;
      specs.push_back({card_from_manifest(e), e.file, e.weights_hash});
    }
    for (const auto& w : wanted) mf.member(w);  // names a requested member the folder lacks
    return specs;
  }
  if (!rq.allow_untrained)
    throw ConfigError("no trained members for task '" + task.task.name + "': " +
                      manifest_file.string() +
                      " does not exist. Train them (ensemble-train --task " + task.task.name +
                      " --data MANIFEST --out " + manifest_file.parent_path().string() +
                      "), import torchvision weights (ensemble-train import), point --models at "
                      "a models folder, or pass --allow-untrained for a smoke test with random "
                      "weights (every output is then marked UNTRAINED)");
  const std::string preset = rq.preset.empty() ? task.ensemble.preset : rq.preset;
  const auto& names = rq.members.empty() ? task.ensemble.members : rq.members;
  for (const auto& name : names) specs.push_back({card_from_networks(name, preset, nets), {}, {}});
  return specs;
}

// Invalid request values are errors naming the CLI option (the request is what
// ensemble-classify's options fill), checked before anything is loaded.
// The validators are config.h's, which the task files use too.
void check_request(const ClassifyRequest& rq) {
  checked_members(rq.members, "--members");
  if (!rq.preset.empty()) checked_preset(rq.preset, "--preset");
  // --quorum's upper bound (the members selected) is checked once they are known (apply_settings).
  if (rq.quorum && *rq.quorum < 1)
    throw ConfigError("--quorum: expected 1 or more (at most the members selected), got " + std::to_string(*rq.quorum));
  if (rq.batch < 1) throw ConfigError("--batch must be >= 1");
  checked_threads(rq.threads, "--threads");
}

// The request's gate/vote over the models folder's tuned gate over the task's (resolve_gate),
// and the request's cam over the task's (check_request has passed).
std::string apply_settings(const ClassifyRequest& rq, const EnsembleDefaults& task,
                           const std::optional<TunedGate>& tuned, const fs::path& manifest_file, EnsembleOptions* eo) {
  // A given --quorum must be possible with the members selected: an error, never a clamp.
  if (rq.quorum) checked_quorum(*rq.quorum, eo->members.size(), "--quorum");
  const ResolvedGate g = resolve_gate(rq, task.gate, task.vote, tuned, eo->members.size(), manifest_file.string());
  eo->gate = g.gate;
  eo->vote = g.vote;
  eo->cam = rq.cam.value_or(task.cam);
  eo->cam_layer = rq.cam_layer.value_or(task.cam_layer);
  return g.source;
}

// The domain check a run uses: the request's mode over the task's, and the models folder's
// domain model when its manifest records one. A recorded model that is missing, altered,
// corrupt or fitted with other member weights is an error naming it (--domain off runs
// without it); a folder without one runs unchecked, with a note for run.json.
struct DomainSetup {
  std::shared_ptr<const DomainModel> model;
  DomainMode mode = DomainMode::Flag;
  std::string file, rule, note;
};

DomainSetup resolve_domain(const ClassifyRequest& rq, const TaskConfig& task, const fs::path& models_dir,
                           const std::vector<EnsembleMemberSpec>& members) {
  DomainSetup d;
  d.mode = rq.domain.value_or(task.ensemble.domain);
  if (d.mode == DomainMode::Off) {
    d.note = "domain check off (" + std::string(rq.domain ? "--domain off" : "task " + task.task.name + ": domain: off") + ")";
    return d;
  }
  const fs::path manifest_file = models_dir / "manifest.yaml";
  if (!fs::exists(manifest_file)) {
    d.note = "no domain check: no models manifest in " + models_dir.string() + " (untrained members)";
    return d;
  }
  const ModelsManifest mf = load_models_manifest(manifest_file);
  if (!mf.domain) {
    d.note = "no domain check: " + models_dir.string() + " has no domain model (fit one with ensemble-domain fit --models " +
             models_dir.string() + " --data MANIFEST)";
    return d;
  }
  const DomainRecord& r = *mf.domain;
  const std::string off = " (refit with ensemble-domain fit, or run with --domain off)";
  if (!fs::exists(r.file))
    throw ModelError("domain model " + r.file.string() + ", listed in " + manifest_file.string() + ", does not exist" + off);
  const std::string actual = weights_file_hash(r.file);
  if (actual != r.hash)
    throw ModelError("domain model " + r.file.string() + " is not the one " + manifest_file.string() + " lists (hash " +
                     r.hash + ", file " + actual + ")" + off);
  if (domain_members_hash(mf) != r.members_hash)
    throw ModelError("domain model " + r.file.string() + " was fitted with other member weights than " +
                     manifest_file.string() + " lists" + off);
  auto model = std::make_shared<DomainModel>(load_domain_model(r.file));
  int covered = 0;
  for (const auto& m : members) covered += model->find(m.card.member) ? 1 : 0;
  if (covered == 0) {
    d.note = "no domain check: " + r.file.string() + " has no entry for the members selected";
    return d;
  }
  d.model = std::move(model);
  d.file = r.file.string();
  d.rule = r.rule;
  return d;
}

}  // namespace

namespace {

// `n` bytes at `p` as a uint8 tensor (sharing them), for Comm::allgather.
torch::Tensor byte_tensor(const void* p, size_t n) {
  if (n == 0) return torch::empty({0}, torch::kUInt8);
  return torch::from_blob(const_cast<void*>(p), {static_cast<int64_t>(n)}, torch::kUInt8);
}

// A prepared row on the wire between ranks: ok, abstained, domain-flagged bytes, then the CSV
// and JSONL lines, each after its length (8 bytes, this machine's order: the ranks run the
// same build).
void pack_row(const PreparedRow& row, bool flagged, std::string& out) {
  out.push_back(row.ok ? 1 : 0);
  out.push_back(row.abstained ? 1 : 0);
  out.push_back(flagged ? 1 : 0);
  for (const std::string* s : {&row.csv, &row.json}) {
    const uint64_t n = s->size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out += *s;
  }
}

PreparedRow unpack_row(const std::string& in, size_t& at, bool& flagged) {
  auto need = [&](size_t n) {
    if (at + n > in.size()) throw DistributedError("a rank sent a truncated result row");
  };
  PreparedRow row;
  need(3);
  row.ok = in[at] != 0;
  row.abstained = in[at + 1] != 0;
  flagged = in[at + 2] != 0;
  at += 3;
  for (std::string* s : {&row.csv, &row.json}) {
    uint64_t n = 0;
    need(sizeof n);
    std::memcpy(&n, in.data() + at, sizeof n);
    at += sizeof n;
    need(n);
    s->assign(in, at, n);
    at += n;
  }
  return row;
}

}  // namespace

ClassifySummary run_classify(const ClassifyRequest& rq) {
  const auto t0 = std::chrono::steady_clock::now();
  require_task(rq.task);
  check_request(rq);
  const fs::path config_dir = resolve_config_dir(rq.config_dir);
  const TaskConfig task = load_task(rq.task, config_dir);
  const NetworksConfig nets = load_networks_config(config_dir / "networks.yaml");
  const fs::path models_dir = rq.models_dir.empty() ? task.ensemble.models_dir : rq.models_dir;

  EnsembleOptions eo;
  eo.classes = task.task.classes;
  std::optional<TunedGate> tuned;
  eo.members = resolve_members(rq, task, nets, models_dir, &tuned);
  if (eo.members.empty()) throw ConfigError("no members selected");
  const std::string gate_source = apply_settings(rq, task.ensemble, tuned, models_dir / "manifest.yaml", &eo);
  eo.mode = rq.serial ? RunMode::Serial : RunMode::Parallel;
  const DomainSetup domain = resolve_domain(rq, task, models_dir, eo.members);
  eo.domain = domain.model;
  eo.domain_mode = domain.mode;

  // Inputs are only read (bad ones fail before --out exists); the output folder is not input.
  // A first streaming pass counts them for the progress bar and finds what fails early (an
  // empty folder or CSV); the run then streams them again, a batch at a time, so a CSV of a
  // million rows is never held whole.
  std::vector<std::string> input_warnings;
  std::size_t total = 0;
  {
    InputStream counting(rq.inputs, {rq.out}, &input_warnings);
    for (InputImage in; counting.next(in);) ++total;
  }
  for (const auto& w : input_warnings) std::cerr << "warning: " << w << "\n";
  InputStream inputs(rq.inputs, {rq.out});
  // Several ranks meet here: the checks above fail alike on every rank.
  std::shared_ptr<Comm> comm;
  if (rq.dist.distributed()) comm = Comm::connect(rq.dist);
  const bool writer = !comm || comm->rank() == 0;  // rank 0 writes the results
  const int world = comm ? comm->world() : 1, rank = comm ? comm->rank() : 0;
  // The folder is this run's from here on: a second run into it fails now, naming this one,
  // before loading any member.
  std::optional<OutputLock> out_lock;
  if (writer) out_lock.emplace(rq.out);
  // One plan for both modes: --serial runs the members one after another with the intra-op
  // thread count each has in a parallel run, so the results are bit-identical (parallel.h);
  // more threads per member would change torch's summation order (differences of 1e-5).
  configure_threads(rq.threads, 0);
  // Maps at image size are kept only when something draws or saves them.
  eo.keep_maps = rq.overlays || rq.montage || rq.save_maps;
  // Drawn maps need no more than the overlays' 512 px; saved maps are the image's size up to
  // 4096 px a side (docs/outputs.md, "Limits"): a huge image costs no more than that.
  eo.max_map_side = rq.save_maps ? kMaxSavedMapSide : kMaxDrawnMapSide;
  Ensemble ensemble(eo);

  LungMaskProviderOptions mo = default_lung_mask_options();
  if (!rq.segmenter.empty()) mo.segmenter_weights = rq.segmenter;
  if (!rq.use_segmenter) mo.segmenter_weights.clear();
  if (!rq.atlas.empty()) mo.atlas = rq.atlas;
  const LungMaskProvider masks(mo);

  ClassifySummary summary;
  summary.untrained = ensemble.untrained_members();
  summary.domain_note = domain.note;
  if (!summary.untrained.empty())
    std::cerr << "\n*** WARNING: " << summary.untrained.size() << " of " << eo.members.size()
              << " members have NO TRAINED WEIGHTS (random): " << join(summary.untrained, ", ")
              << ".\n*** Their labels mean nothing; train them with ensemble-train (models "
                 "folder: "
              << models_dir.string() << ").\n\n";

  RunInfo info;
  info.task = task.task.name;
  info.classes = eo.classes;
  for (const auto& m : eo.members) info.members.push_back(m.card.member);
  info.untrained = summary.untrained;
  info.gate = eo.gate;
  info.gate_source = gate_source;
  info.vote = eo.vote;
  info.cam = eo.cam;
  info.cam_layer = eo.cam_layer;
  info.preset = rq.preset.empty() ? task.ensemble.preset : rq.preset;
  info.domain_mode = domain.mode;
  info.domain_model = domain.file;
  info.domain_rule = domain.rule;
  info.domain_note = domain.note;
  info.inputs = rq.inputs;
  ReportOptions ro;
  ro.out_dir = rq.out;
  ro.overlays = rq.overlays;
  ro.montage = rq.montage;
  ro.save_maps = rq.save_maps;
  // Everything is loaded: an earlier run's outputs go now, so none outlive it beside the new
  // results (and a run that failed above left them as they were).
  ro.results = writer;
  std::exception_ptr setup_failed;
  if (writer) {
    try {
      clear_previous_outputs(rq.out);
    } catch (...) {
      setup_failed = std::current_exception();
    }
  }
  // The other ranks write their images' files only once rank 0 has cleared the folder.
  raise_if_failed(comm.get(), setup_failed, "rank 0 could not prepare " + rq.out.string());
  // Output names follow the input order (rows are added in it), so reruns name files the same way.
  ReportWriter report(ro, info);
  ProgressBar progress(total, "classify",
                       rq.progress && writer ? ProgressBar::Mode::Auto : ProgressBar::Mode::Off);

  // One batch of inputs → its rows (ImageOutcome), in input order.
  auto classify_batch = [&](const std::vector<InputImage>& batch) {
    // Load and mask each image (in parallel: loading and the U-Net are per image); a failure
    // becomes that image's row, the batch goes on.
    std::vector<ImageOutcome> rows(batch.size());
    std::vector<cv::Mat> loaded(batch.size());
    std::vector<LungMask> loaded_masks(batch.size());
    tbb::parallel_for(size_t{0}, batch.size(), [&](size_t i) {
      ImageOutcome& row = rows[i];
      row.image = batch[i].image;
      row.credit = batch[i].credit;
      // The data set's label as the task's class (results.csv true_label); empty when the
      // input has none or the task does not use it.
      if (!batch[i].truth.empty())
        if (const auto k = task.task.label_of(batch[i].truth)) row.truth = task.task.classes[*k];
      try {
        loaded[i] = load_gray(batch[i].image);
        loaded_masks[i] = masks.for_image(loaded[i], batch[i].image, batch[i].mask);
        row.ok = true;
      } catch (const std::exception& e) {
        row.ok = false;
        row.error = e.what();
      }
    });
    // A mask the gate cannot use is said on stderr too (its row's mask_warnings holds it).
    for (size_t k = 0; k < rows.size(); ++k)
      if (rows[k].ok && !loaded_masks[k].invalid.empty())
        std::cerr << "warning: " << rows[k].image.string() << ": lung mask not used: "
                  << loaded_masks[k].invalid << "\n";
    std::vector<cv::Mat> grays;
    std::vector<LungMask> lung_masks;
    std::vector<size_t> good;
    for (size_t k = 0; k < rows.size(); ++k) {
      if (!rows[k].ok) continue;
      grays.push_back(loaded[k]);
      lung_masks.push_back(std::move(loaded_masks[k]));
      good.push_back(k);
    }
    if (!grays.empty()) {
      auto done = ensemble.classify(grays, lung_masks);
      for (size_t g = 0; g < good.size(); ++g) {
        done[g].image = rows[good[g]].image;
        done[g].truth = rows[good[g]].truth;
        done[g].credit = rows[good[g]].credit;
        rows[good[g]] = std::move(done[g]);
      }
    }
    return rows;
  };
  auto count = [&](bool ok, bool abstained, bool flagged) {
    ++summary.images;
    if (ok && flagged) ++summary.out_of_domain;
    if (!ok) ++summary.failed;
    else if (abstained) ++summary.abstained;
  };

  std::size_t end = 0;
  while (true) {
    // A round: the next `world` batches; rank r classifies the r-th (one process: one batch).
    std::vector<std::vector<InputImage>> round;
    for (int r = 0; r < world; ++r) {
      std::vector<InputImage> batch;
      for (InputImage in; batch.size() < static_cast<size_t>(rq.batch) && inputs.next(in);) batch.push_back(std::move(in));
      if (batch.empty()) break;
      end += batch.size();
      round.push_back(std::move(batch));
    }
    if (round.empty()) break;
    std::vector<ImageOutcome> rows;
    if (rank < static_cast<int>(round.size())) rows = classify_batch(round[rank]);
    if (!comm) {
      for (const auto& row : rows) {
        report.add(row);
        count(row.ok, row.vote.abstained, row.domain.flagged);
      }
      progress.update(end);
      continue;
    }
    // Output stems take the order of the inputs, over the ok images of every rank's batch:
    // each rank learns which were ok and names them all, in the same order, as one process.
    std::vector<uint8_t> ok(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) ok[i] = rows[i].ok ? 1 : 0;
    const auto oks = comm->allgather(byte_tensor(ok.data(), ok.size()));
    std::vector<std::string> my_stems;
    for (size_t r = 0; r < round.size(); ++r)
      for (size_t i = 0; i < round[r].size(); ++i) {
        const bool row_ok = oks[r].numel() > static_cast<int64_t>(i) && oks[r][i].item<uint8_t>() != 0;
        const std::string stem = row_ok ? report.stem_for(round[r][i].image) : std::string();
        if (static_cast<int>(r) == rank) my_stems.push_back(stem);
      }
    // This rank's files, then its rows to rank 0, which appends every rank's in input order.
    std::string packed;
    for (size_t i = 0; i < rows.size(); ++i)
      pack_row(report.prepare(rows[i], my_stems[i]), rows[i].ok && rows[i].domain.flagged, packed);
    const auto parts = comm->allgather(byte_tensor(packed.data(), packed.size()));
    if (writer) {
      for (const auto& part : parts) {
        const std::string bytes(reinterpret_cast<const char*>(part.data_ptr()), static_cast<size_t>(part.numel()));
        for (size_t at = 0; at < bytes.size();) {
          bool flagged = false;
          const PreparedRow row = unpack_row(bytes, at, flagged);
          report.append(row);
          count(row.ok, row.abstained, flagged);
        }
      }
    } else {
      for (const auto& row : rows) count(row.ok, row.vote.abstained, row.domain.flagged);
    }
    progress.update(end);
  }
  report.finish();
  progress.finish();
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace gradgate
