// ensemble-overhead: what the lung gate costs on top of a plain ensemble.
// For the same members and images, times (a) forward only (preprocess + forward, no
// Grad-CAM, no mask, no gate) and (b) the gated ensemble (lung masks + Grad-CAM on the feature grid
// + gate + vote) with the maps at the study's layer and at the fine (stride-16) layer,
// alternating for --reps rounds, and prints the medians, images/s and the ratios to (a)
// (issue target: <= 1.15). Masks come from mask files where the data set has
// them and from the U-Net segmenter otherwise (--segmenter-only forces the segmenter).
#include <boost/program_options.hpp>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>

#include "cli_common.h"
#include "gradgate/config.h"
#include "gradgate/dataset.h"
#include "gradgate/ensemble.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/lung_mask.h"
#include "process_policy.h"

namespace po = boost::program_options;
using namespace gradgate;
using Clock = std::chrono::steady_clock;

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char** argv) {
  prepare_process(argv);
  std::string task_name, data, preset, members, split;
  int count = 0, batch = 0, reps = 0, threads = 0;
  bool segmenter_only = false;
  po::options_description opts("ensemble-overhead --data MANIFEST [options]\nOptions");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("task", po::value(&task_name)->default_value("pneumonia"), "task (classes, sources)")
    ("data", po::value(&data)->required(), "data set (manifest.csv, folder tree or CSV)")
    ("split", po::value(&split)->default_value("test"), "split to take images from")
    ("count", po::value(&count)->default_value(32), "images")
    ("preset", po::value(&preset)->default_value("compact"), "member preset")
    ("members", po::value(&members)->default_value(""), "comma-separated members (default: the task's 19)")
    ("batch", po::value(&batch)->default_value(8), "images per pass")
    ("reps", po::value(&reps)->default_value(3), "alternating rounds; medians are reported")
    ("threads", po::value(&threads)->default_value(0), "cores (0 = all)")
    ("segmenter-only", po::bool_switch(&segmenter_only), "ignore mask files: every mask from the U-Net");
  // clang-format on
  try {
    po::variables_map vm;
    if (!gradgate::parse_options(argc, argv, opts, vm)) return 0;
    const TaskConfig task = load_task(task_name);
    const NetworksConfig nets = load_networks_config(default_config_dir() / "networks.yaml");
    TaskView view(open_dataset(data), task.task);
    const auto want = parse_split(split);
    if (!want) throw gradgate::Error("unknown split " + split);
    std::vector<Sample> samples;
    for (const auto& s : view.list(*want).samples) {
      if (static_cast<int>(samples.size()) >= count) break;
      samples.push_back(s);
    }
    std::vector<cv::Mat> grays;
    for (const auto& s : samples) grays.push_back(load_gray(s.image));

    EnsembleOptions eo;
    eo.classes = task.task.classes;
    for (const auto& name : members.empty() ? task.ensemble.members : split_list(members))
      eo.members.push_back({card_from_networks(name, preset, nets), {}});
    eo.keep_maps = false;  // the report's drawing is not part of the gate's cost
    configure_threads(threads, 0);
    eo.cam_layer = CamLayer::Study;
    Ensemble ens(eo);
    eo.cam_layer = CamLayer::Fine;
    Ensemble fine_ens(eo);  // the same members and sizes (timings do not depend on weights)
    LungMaskProvider provider(default_lung_mask_options());

    int from_file = 0;
    std::vector<double> t_fwd, t_gate, t_masks, t_fine;
    EnsembleTimings stages;  // summed over all rounds
    // The gated run of one round; returns its seconds (masks included).
    auto gated = [&](Ensemble& e, double* masks_s, EnsembleTimings* st) {
      const auto t0 = Clock::now();
      from_file = 0;
      for (size_t b = 0; b < grays.size(); b += batch) {
        const size_t end = std::min(grays.size(), b + batch);
        std::vector<cv::Mat> chunk(grays.begin() + b, grays.begin() + end);
        std::vector<LungMask> masks(end - b);
        auto tm = Clock::now();
        // As ensemble-classify does: masks of a batch in parallel (the provider is thread-safe).
        tbb::parallel_for(b, end, [&](size_t i) {
          masks[i - b] = segmenter_only ? provider.get(grays[i])
                                        : provider.for_image(grays[i], samples[i].image, samples[i].mask);
        });
        for (const auto& mk : masks) from_file += mk.source == LungMask::Source::File;
        if (masks_s) *masks_s += std::chrono::duration<double>(Clock::now() - tm).count();
        e.classify(chunk, masks, st);
      }
      return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    for (int r = 0; r < reps; ++r) {
      auto t0 = Clock::now();
      for (size_t b = 0; b < grays.size(); b += batch) {
        std::vector<cv::Mat> chunk(grays.begin() + b, grays.begin() + std::min(grays.size(), b + batch));
        ens.forward_only(chunk);
      }
      t_fwd.push_back(std::chrono::duration<double>(Clock::now() - t0).count());

      double masks_s = 0;
      t_gate.push_back(gated(ens, &masks_s, &stages));
      t_fine.push_back(gated(fine_ens, nullptr, nullptr));
      t_masks.push_back(masks_s);
    }
    const double f = median(t_fwd), g = median(t_gate), m = median(t_masks), gf = median(t_fine);
    const double n = static_cast<double>(grays.size());
    std::cout << std::fixed << std::setprecision(3) << "members " << eo.members.size() << " at "
              << preset << ", " << grays.size() << " " << split << " images of " << data
              << ", batch " << batch << ", " << current_thread_plan().cores << " cores, " << reps
              << " rounds (medians)\n"
              << "masks: " << from_file << " from files, " << (grays.size() - from_file)
              << " from the segmenter\n"
              << "forward only        " << f << " s  " << n / f << " images/s\n"
              << "gated ensemble      " << g << " s  " << n / g << " images/s (masks " << m << " s)\n"
              << "ratio gated/forward " << g / f << "  (target <= 1.15)\n"
              << "gated, fine layer   " << gf << " s  " << n / gf << " images/s\n"
              << "ratio fine/forward  " << gf / f << "  (target <= 1.15)\n"
              << "gated (study layer), per round: members (preprocess + head-only Grad-CAM) "
              << stages.members / reps << " s, gate + vote " << stages.gate_vote / reps << " s\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ensemble-overhead: " << e.what() << "\n";
    return 2;
  }
}
