// ensemble-classify: classify chest X-rays with the gated ensemble.
// Thin: parses options, then hands over to the library (gradgate/classify.h).
#include <boost/program_options.hpp>

#include <iostream>
#include <sstream>

#include "gradgate/classify.h"
#include "cli_common.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "process_policy.h"
#include "gradgate/task.h"

namespace po = boost::program_options;
using namespace gradgate;

int main(int argc, char** argv) {
  prepare_process(argv);
  ClassifyRequest rq;
  std::string members, models, config_dir, out, segmenter, atlas, fallback, vote, cam, cam_layer, gate, gate_mode, domain;
  double tau = 0.0;
  int quorum = 0;
  // Defaults are written once: the request's initialisers (classify.h) and the gate's
  // (gate.h, config.h); the help names them from there.
  const EnsembleDefaults builtin;
  std::ostringstream tau_default;
  tau_default << "task's (" << builtin.gate.tau << ")";
  bool no_overlays = false, no_montage = false, no_progress = false, allow_untrained = false;

  po::options_description opts(
      "ensemble-classify --task T [options] --out DIR INPUT...\n\n"
      "Classifies chest X-rays with an ensemble of CNNs whose Grad-CAM maps are checked\n"
      "against a lung mask: members looking outside the lungs are dropped for that image.\n"
      "INPUT: image files, folders of images (recursive), or a manifest/CSV data set.\n"
      "Exit code: 0 every image classified (or abstained), 1 some images failed, 2 bad usage.\n\n"
      "Options");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("list-tasks", "list the tasks, their classes and whether they have trained members (with the soft vote's test accuracy), and exit")
    ("list-networks", "list the 19 members (preset, input side, parameters, Grad-CAM grid, feature layer) and exit")
    ("task,t", po::value(&rq.task), ("task: " + join(task_names(), " | ")).c_str())
    ("models,m", po::value(&models)->default_value("", "the task's models_dir"), "models folder with manifest.yaml (from ensemble-train)")
    ("preset", po::value(&rq.preset)->default_value("", "task's (compact)"), "member size preset without a manifest: full | compact | tiny")
    ("members", po::value(&members)->default_value("", "task's"), "comma-separated members to use")
    ("gate", po::value(&gate)->default_value(to_string(builtin.gate.criterion), std::string("task's (") + to_string(builtin.gate.criterion) + ")"), ("gate criterion: " + gate_criterion_names().joined(" | ") + " (share: in-lung share of Grad-CAM mass; lift: share / lung area fraction, 1 = uniform; excess: (share - f) / (1 - f), 0 = uniform, 1 = all inside)").c_str())
    ("gate-mode", po::value(&gate_mode)->default_value(to_string(builtin.gate.mode), std::string("task's (") + to_string(builtin.gate.mode) + ")"), ("gate mode: " + gate_mode_names().joined(" | ") + " (soft: no member dropped, votes weighted by max(0, excess))").c_str())
    ("tau", po::value(&tau)->default_value(builtin.gate.tau, tau_default.str()), "gate: the criterion's threshold (share, excess: [0,1]; lift: >= 0)")
    ("quorum", po::value(&quorum)->default_value(builtin.gate.quorum, "task's (" + std::to_string(builtin.gate.quorum) + ")"), "gate: members that must pass (>= 1), else the fallback decides")
    ("fallback", po::value(&fallback)->default_value(to_string(builtin.gate.fallback), std::string("task's (") + to_string(builtin.gate.fallback) + ")"), ("fewer than quorum pass: " + gate_fallback_names().joined(" | ")).c_str())
    ("vote", po::value(&vote)->default_value(to_string(builtin.vote), std::string("task's (") + to_string(builtin.vote) + ")"), ("vote rule: " + vote_rule_names().joined(" | ")).c_str())
    ("cam", po::value(&cam)->default_value(to_string(builtin.cam), std::string("task's (") + to_string(builtin.cam) + ")"), ("saliency: " + cam_method_names().joined(" | ")).c_str())
    ("cam-layer", po::value(&cam_layer)->default_value(to_string(builtin.cam_layer), std::string("task's (") + to_string(builtin.cam_layer) + ")"), "layer the maps are taken at: fine (stride 16: 8x8 cells at 128 px; costs a backward through the last stage) | study (the study's layer, stride 32 for most members)")
    ("domain", po::value(&domain)->default_value(to_string(builtin.domain), std::string("task's (") + to_string(builtin.domain) + ")"), ("images unlike the members' training images (the models folder's domain.pt, from ensemble-domain fit): " + domain_mode_names().joined(" | ") + " (flag: marked in results' out_of_domain; abstain: they abstain with the reason; off: no check)").c_str())
    ("out,o", po::value(&out)->default_value(rq.out.string()), "output folder (results.csv, results.jsonl, run.json, overlays/, montage/, maps/)")
    ("save-maps", po::bool_switch(&rq.save_maps), "also write each member's raw map and the mask as .npy (maps/)")
    ("no-overlays", po::bool_switch(&no_overlays), "skip the per-member overlay PNGs")
    ("no-montage", po::bool_switch(&no_montage), "skip the montage PNG per image")
    ("batch", po::value(&rq.batch)->default_value(rq.batch), "images per Grad-CAM pass")
    ("threads", po::value(&rq.threads)->default_value(rq.threads, "all cores"), "cores to use")
    ("serial", po::bool_switch(&rq.serial), "run members one after another, each on the threads it has in a parallel run (bit-identical results, slower: for checking)")
    ("allow-untrained", po::bool_switch(&allow_untrained), "run members with random weights when the task has no models folder (smoke tests; every output is marked UNTRAINED)")
    ("segmenter", po::value(&segmenter)->default_value("", "models/lung_unet/lung_unet.pt"), "lung U-Net weights; none: no U-Net (a mask file, else the atlas)")
    ("atlas", po::value(&atlas)->default_value("", "masks/lung_atlas.png"), "lung atlas PNG")
    ("config-dir", po::value(&config_dir)->default_value("", "GRADGATE_CONFIG_DIR or the source tree's config/"), "configuration folder")
    ("no-progress", po::bool_switch(&no_progress), "no progress bar on stderr")
    ("input", po::value(&rq.inputs)->multitoken(), "inputs (positional)");
  // clang-format on
  // Sharded: each rank classifies every world-th batch; rank 0 writes the results in input order.
  DistCli dist;
  dist.add_to(opts);
  po::positional_options_description pos;
  pos.add("input", -1);

  try {
    po::variables_map vm;
    if (!parse_options(argc, argv, opts, vm, &pos,
        "  ensemble-classify --task pneumonia --out out/demo demo/manifest.csv\n"
        "  ensemble-classify --task bacterial-vs-viral --gate excess --tau 0.2 --out out/x scans/\n"
        "  ensemble-classify --task covid-vs-other --no-overlays --save-maps --out out/y film.png\n")) return 0;
    if (vm.count("list-tasks")) {
      print_task_table(std::cout);
      return 0;
    }
    if (vm.count("list-networks")) {
      if (!rq.preset.empty()) checked_preset(rq.preset, "--preset");
      print_network_table(std::cout, rq.preset.empty() ? "compact" : rq.preset);
      return 0;
    }
    require_task(rq.task);
    if (rq.inputs.empty()) throw Error("no INPUT given: name image files, folders or a manifest/CSV");
    rq.members = parse_member_list(members, "--members");
    // Given options only (the rest stay the task's); strings become enums here, through the
    // one name table each; run_classify validates tau and quorum (errors naming the option).
    const auto given = [&](const char* name) { return !vm[name].defaulted(); };
    if (given("gate")) rq.criterion = parse_choice("gate", gate_criterion_names(), gate);
    if (given("gate-mode")) rq.gate_mode = parse_choice("gate-mode", gate_mode_names(), gate_mode);
    if (given("tau")) rq.tau = tau;
    if (given("quorum")) rq.quorum = quorum;
    if (given("fallback")) rq.fallback = parse_choice("fallback", gate_fallback_names(), fallback);
    if (given("vote")) rq.vote = parse_choice("vote", vote_rule_names(), vote);
    if (given("cam")) rq.cam = parse_choice("cam", cam_method_names(), cam);
    if (given("cam-layer")) rq.cam_layer = parse_choice("cam-layer", cam_layer_names(), cam_layer);
    if (given("domain")) rq.domain = parse_choice("domain", domain_mode_names(), domain);
    rq.models_dir = models;
    rq.config_dir = config_dir;
    rq.out = out;
    // An empty path is a typo (an unset variable), not a choice: "none" says it.
    if (given("segmenter") && segmenter.empty())
      throw ConfigError("--segmenter: empty path; give the U-Net weights, or 'none' for no U-Net (atlas)");
    if (given("atlas") && atlas.empty())
      throw ConfigError("--atlas: empty path; give the atlas PNG");
    rq.use_segmenter = segmenter != "none";
    rq.segmenter = rq.use_segmenter ? segmenter : "";
    rq.atlas = atlas;
    rq.overlays = !no_overlays;
    rq.montage = !no_montage;
    rq.progress = !no_progress;
    rq.allow_untrained = allow_untrained;
    rq.dist = dist.dist_options();
    const ClassifySummary s = run_classify(rq);
    if (rq.dist.rank != 0) {
      std::cout << describe(rq.dist) << ": classified " << s.images << " images; rank 0 wrote "
                << (rq.out / "results.csv").string() << "\n";
      return s.failed > 0 ? 1 : 0;
    }
    std::cout << "classified " << s.images << " images in " << s.seconds << " s: "
              << (s.images - s.failed - s.abstained) << " labelled, " << s.abstained
              << " abstained, " << s.failed << " failed -> " << rq.out.string() << "\n";
    if (s.out_of_domain > 0)
      std::cout << s.out_of_domain << " of " << s.images
                << " images lie outside the members' training domain (results: out_of_domain)\n";
    if (!s.domain_note.empty()) std::cout << "note: " << s.domain_note << "\n";
    if (!s.untrained.empty())
      std::cout << "WARNING: " << s.untrained.size()
                << " members ran with random weights: the labels are not meaningful\n";
    return s.failed > 0 ? 1 : 0;
  } catch (const po::error& e) {
    std::cerr << "ensemble-classify: " << e.what() << "\n(see ensemble-classify --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ensemble-classify: " << e.what() << "\n";
    return 2;
  }
}
