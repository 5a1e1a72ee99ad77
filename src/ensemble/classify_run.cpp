#include "gradgate/classify.h"

#include <chrono>
#include <iostream>

#include <tbb/parallel_for.h>

#include "gradgate/config.h"
#include "gradgate/ensemble.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/inputs.h"
#include "gradgate/common/strings.h"
#include "gradgate/member_card.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/report.h"
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
    if (mf.classes != task.task.classes)
      throw ConfigError(manifest_file.string() + ": classes [" + join(mf.classes, ", ") +
                        "] differ from task " + task.task.name + "'s [" +
                        join(task.task.classes, ", ") + "]");
    const std::vector<std::string> wanted =
        rq.members.empty() ? std::vector<std::string>{} : rq.members;
    for (const auto& e : mf.members) {
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), e.name) == wanted.end()) continue;
      specs.push_back({card_from_manifest(e), e.file});
    }
    for (const auto& w : wanted) mf.member(w);  // names a requested member the folder lacks
    return specs;
  }
  if (!rq.allow_untrained)
    throw ConfigError("no trained members: " + manifest_file.string() +
                      " does not exist (train with ensemble-train, or import with "
                      "ensemble-train import)");
  const std::string preset = rq.preset.empty() ? task.ensemble.preset : rq.preset;
  const auto& names = rq.members.empty() ? task.ensemble.members : rq.members;
  for (const auto& name : names) specs.push_back({card_from_networks(name, preset, nets), {}});
  return specs;
}

// Invalid request values are errors naming the CLI option (the request is what
// ensemble-classify's options fill), checked before anything is loaded.
void check_request(const ClassifyRequest& rq) {
  if (rq.quorum && *rq.quorum < 1)
    throw ConfigError("--quorum must be >= 1, got " + std::to_string(*rq.quorum));
  if (rq.batch < 1) throw ConfigError("--batch must be >= 1");
  if (rq.threads < 0) throw ConfigError("--threads must be >= 0 (0: all cores), got " + std::to_string(rq.threads));
}

// The request's gate/vote over the models folder's tuned gate over the task's (resolve_gate),
// and the request's cam over the task's (check_request has passed).
std::string apply_settings(const ClassifyRequest& rq, const EnsembleDefaults& task,
                           const std::optional<TunedGate>& tuned, const fs::path& manifest_file, EnsembleOptions* eo) {
  const ResolvedGate g = resolve_gate(rq, task.gate, task.vote, tuned, eo->members.size(), manifest_file.string());
  eo->gate = g.gate;
  eo->vote = g.vote;
  eo->cam = rq.cam.value_or(task.cam);
  eo->cam_layer = rq.cam_layer.value_or(task.cam_layer);
  return g.source;
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

  const auto inputs = collect_inputs(rq.inputs);
  configure_threads(rq.threads, rq.serial ? 1 : 0);
  // Maps at image size are kept only when something draws or saves them.
  eo.keep_maps = rq.overlays || rq.montage || rq.save_maps;
  Ensemble ensemble(eo);

  LungMaskProviderOptions mo = default_lung_mask_options();
  if (!rq.segmenter.empty()) mo.segmenter_weights = rq.segmenter;
  if (!rq.atlas.empty()) mo.atlas = rq.atlas;
  const LungMaskProvider masks(mo);

  ClassifySummary summary;
  summary.untrained = ensemble.untrained_members();
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
  info.inputs = rq.inputs;
  ReportOptions ro;
  ro.out_dir = rq.out;
  ro.overlays = rq.overlays;
  ro.montage = rq.montage;
  ro.save_maps = rq.save_maps;
  ReportWriter report(ro, info);
  // Output names follow the input order, so reruns name files the same way.
  for (const auto& in : inputs) report.stem_for(in.image);
  ProgressBar progress(inputs.size(), "classify",
                       rq.progress ? ProgressBar::Mode::Auto : ProgressBar::Mode::Off);

  for (size_t start = 0; start < inputs.size(); start += static_cast<size_t>(rq.batch)) {
    const size_t end = std::min(inputs.size(), start + static_cast<size_t>(rq.batch));
    // Load and mask each image (in parallel: loading and the U-Net are per image); a failure
    // becomes that image's row, the batch goes on.
    std::vector<ImageOutcome> rows(end - start);
    std::vector<cv::Mat> loaded(end - start);
    std::vector<LungMask> loaded_masks(end - start);
    tbb::parallel_for(start, end, [&](size_t i) {
      ImageOutcome& row = rows[i - start];
      row.image = inputs[i].image;
      // The data set's label as the task's class (results.csv true_label); empty when the
      // input has none or the task does not use it.
      if (!inputs[i].truth.empty())
        if (const auto k = task.task.label_of(inputs[i].truth)) row.truth = task.task.classes[*k];
      try {
        loaded[i - start] = load_gray(inputs[i].image);
        loaded_masks[i - start] = masks.for_image(loaded[i - start], inputs[i].image, inputs[i].mask);
        row.ok = true;
      } catch (const std::exception& e) {
        row.ok = false;
        row.error = e.what();
      }
    });
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
        rows[good[g]] = std::move(done[g]);
      }
    }
    for (const auto& row : rows) {
      report.add(row);
      ++summary.images;
      if (!row.ok) ++summary.failed;
      else if (row.vote.abstained) ++summary.abstained;
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
