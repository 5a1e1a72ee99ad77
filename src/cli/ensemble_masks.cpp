// ensemble-masks: makes and checks the lung mask sources.
//   train  trains the lung U-Net on the cxr masks and writes its weights
//   eval   Dice of a segmenter against the masks of a split, adults/children separately
//   atlas  builds the mean lung mask (the atlas) from the training masks
//   mask   writes the lung mask of one image (file rule / segmenter / atlas)
#include <cstdlib>
#include <functional>
#include <memory>
#include <iomanip>
#include <iostream>
#include <thread>

#include <boost/program_options.hpp>
#include <opencv2/core/utility.hpp>
#include <torch/torch.h>

#include "cli_common.h"
#include "gradgate/common/png.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/lung_atlas.h"
#include "gradgate/lung_mask.h"
#include "gradgate/lung_mask_train.h"
#include "gradgate/lung_segmenter.h"
#include "gradgate/lung_unet.h"
#include "process_policy.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace gradgate;

namespace {

const char* kUsage =
    "usage: ensemble-masks <command> [options]\n"
    "commands:\n"
    "  train   train the lung U-Net on the cxr training masks, write its weights\n"
    "  eval    Dice of the U-Net on the masks of a split (adults = cohen, children = kermany)\n"
    "  atlas   build the lung atlas (mean training mask in body-box coordinates) as a PNG\n"
    "  mask    write the lung mask of one image (mask file, else segmenter, else atlas)\n";

const char* kExamples =
    "Examples:\n"
    "  ensemble-masks mask --image demo/images/IM-0003-0001.jpeg --output mask.png\n"
    "  ensemble-masks eval --data ../shared/data/cxr --split test\n"
    "  ensemble-masks train --data ../shared/data/cxr --out models/lung_unet/lung_unet.pt\n";

std::string default_data() {
  const char* env = std::getenv("GRADGATE_CXR_DATA");
  return env && *env ? env : "";
}

fs::path need_data(const po::variables_map& vm) {
  const auto d = vm["data"].as<std::string>();
  if (d.empty()) throw ConfigError("--data: no cxr data folder given (option or GRADGATE_CXR_DATA)");
  return d;
}

void print_dice(const std::string& title, const std::map<std::string, DiceSummary>& s) {
  for (const auto& [group, d] : s) {
    const std::string label = group == "cohen" ? "adults (cohen)" : group == "kermany" ? "children (kermany)" : group;
    std::cout << std::fixed << std::setprecision(4) << title << " " << std::left << std::setw(20) << label
              << std::right << " n " << std::setw(4) << d.n << "  mean " << d.mean << "  median " << d.median
              << "  p10 " << d.p10 << "  min " << d.min << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  gradgate::prepare_process(argv);
  po::options_description common("common options");
  common.add_options()
      ("help,h", "show this help")
      ("data", po::value<std::string>()->default_value(default_data()),
       "cxr data folder holding manifest.csv (default: $GRADGATE_CXR_DATA)")
      ("threads", po::value<int>()->default_value(1), "torch intra-op threads (0 = every core)");
  po::options_description net("U-Net (train)");
  net.add_options()
      ("base-width", po::value<int64_t>()->default_value(8), "channels of the first level (doubles per level)")
      ("depth", po::value<int64_t>()->default_value(4), "number of 2x downsamplings")
      ("side", po::value<int64_t>()->default_value(128), "square input side (multiple of 2^depth)");
  UNetTrainOptions defaults;
  po::options_description train("training (train)");
  train.add_options()
      ("out", po::value<std::string>()->default_value("models/lung_unet/lung_unet.pt"), "weights file to write")
      ("steps", po::value<int64_t>()->default_value(defaults.steps), "optimiser steps")
      ("batch", po::value<int64_t>()->default_value(defaults.batch), "batch size")
      ("lr", po::value<double>()->default_value(defaults.lr, "0.002"), "Adam learning rate (cosine decay to 0)")
      ("weight-decay", po::value<double>()->default_value(defaults.weight_decay, "1e-5"), "Adam weight decay")
      ("source-balance", po::value<double>()->default_value(defaults.source_balance, "0.5"),
       "0 = sample sources by size, 1 = equally (p ~ count^(1-b)); also weights the atlas")
      ("rotation", po::value<double>()->default_value(defaults.max_rotation_deg, "7"), "max rotation, degrees")
      ("scale", po::value<double>()->default_value(defaults.max_scale, "0.08"), "max relative scale change")
      ("shift", po::value<double>()->default_value(defaults.max_shift, "0.05"), "max shift, fraction of the side")
      ("gamma", po::value<double>()->default_value(defaults.max_gamma, "0.3"), "max |log gamma|")
      ("seed", po::value<uint64_t>()->default_value(defaults.seed), "random seed")
      ("log-every", po::value<int64_t>()->default_value(defaults.log_every), "log the loss every N steps")
      ("val-every", po::value<int64_t>()->default_value(defaults.val_every), "val Dice every N steps (0 = never)")
      ("val-images", po::value<int64_t>()->default_value(defaults.val_images), "val images used while training");
  // The shipped U-Net and atlas are read from the data home (the source tree, or the
  // installation's share/gradgate), not the working directory: `ensemble-masks mask` works
  // from anywhere.
  const fs::path project = data_home();
  const std::string shipped_unet = (project / "models/lung_unet/lung_unet.pt").string();
  const std::string shipped_atlas = (project / "masks/lung_atlas.png").string();
  po::options_description eval("evaluation (eval, and after train)");
  eval.add_options()
      ("weights", po::value<std::string>()->default_value(shipped_unet, "<data home>/models/lung_unet/lung_unet.pt"), "U-Net weights (eval, mask)")
      ("split", po::value<std::vector<std::string>>()->multitoken()->default_value({"val", "test"}, "val test"),
       "splits to evaluate")
      ("limit", po::value<int>()->default_value(0), "at most N images per split (0 = all)")
      ("eval-atlas", po::bool_switch(), "eval: score the atlas (--atlas) instead of the U-Net");
  po::options_description atlas("atlas (atlas)");
  atlas.add_options()
      ("atlas-out", po::value<std::string>()->default_value("masks/lung_atlas.png"), "atlas PNG to write")
      ("atlas-side", po::value<int>()->default_value(128), "atlas side in pixels");
  po::options_description one("one image (mask)");
  one.add_options()
      ("image", po::value<std::string>(), "image file")
      ("mask-file", po::value<std::string>(), "explicit mask file (else the naming rule is tried)")
      ("atlas", po::value<std::string>()->default_value(shipped_atlas, "<data home>/masks/lung_atlas.png"), "atlas PNG (empty = none)")
      ("no-segmenter", po::bool_switch(), "skip the segmenter (use the atlas)")
      ("output", po::value<std::string>()->default_value("lung_mask.png"), "mask PNG to write");
  po::options_description all;
  all.add(common).add(net).add(train).add(eval).add(atlas).add(one);

  try {
    if (print_version_if_asked(argc, argv)) return 0;
    std::string command = argc > 1 ? argv[1] : "";
    if (command.empty() || command == "--help" || command == "-h" || command == "help") {
      std::cout << kUsage << "\n" << all << "\n" << kExamples;
      return command.empty() ? 2 : 0;
    }
    po::variables_map vm;
    po::store(po::parse_command_line(argc - 1, argv + 1, all), vm);
    if (vm.count("help")) {
      std::cout << kUsage << "\n" << all << "\n" << kExamples;
      return 0;
    }
    po::notify(vm);
    int threads = checked_threads(vm["threads"].as<int>(), "--threads");  // config.h's rule
    if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
    cv::setNumThreads(threads);

    auto evaluate = [&](const fs::path& weights) {
      const auto rows = read_mask_rows(need_data(vm));
      std::function<cv::Mat(const cv::Mat&)> predict;
      std::unique_ptr<LungSegmenter> seg;
      std::unique_ptr<LungAtlas> atl;
      if (vm["eval-atlas"].as<bool>()) {
        atl = std::make_unique<LungAtlas>(LungAtlas::load(vm["atlas"].as<std::string>()));
        predict = [&](const cv::Mat& g) { return atl->place(g); };
        std::cout << "scoring the atlas " << vm["atlas"].as<std::string>() << "\n";
      } else {
        seg = std::make_unique<LungSegmenter>(weights);
        predict = [&](const cv::Mat& g) { return seg->segment(g); };
      }
      for (const auto& d : evaluate_splits(predict, rows, vm["split"].as<std::vector<std::string>>(),
                                           vm["limit"].as<int>())) {
        print_dice(d.split, d.dice);
        for (const auto& [s, n] : d.without_mask)
          std::cout << d.split << " " << s << ": " << n << " images without a mask (not scored)\n";
      }
    };

    if (command == "train") {
      UNetTrainOptions o;
      o.net = UNetOptions(vm["base-width"].as<int64_t>(), vm["depth"].as<int64_t>(), vm["side"].as<int64_t>());
      o.steps = vm["steps"].as<int64_t>();
      o.batch = vm["batch"].as<int64_t>();
      o.lr = vm["lr"].as<double>();
      o.weight_decay = vm["weight-decay"].as<double>();
      o.source_balance = vm["source-balance"].as<double>();
      o.max_rotation_deg = vm["rotation"].as<double>();
      o.max_scale = vm["scale"].as<double>();
      o.max_shift = vm["shift"].as<double>();
      o.max_gamma = vm["gamma"].as<double>();
      o.seed = vm["seed"].as<uint64_t>();
      o.log_every = vm["log-every"].as<int64_t>();
      o.val_every = vm["val-every"].as<int64_t>();
      o.val_images = vm["val-images"].as<int64_t>();
      const auto rows = read_mask_rows(need_data(vm));
      UNet unet = train_lung_unet(rows_with_masks(rows, "train"), rows_with_masks(rows, "val"), o, std::cout);
      const fs::path out = vm["out"].as<std::string>();
      save_unet(unet, out);
      std::cout << "wrote " << out << " (" << fs::file_size(out) << " bytes)\n";
      evaluate(out);
    } else if (command == "eval") {
      evaluate(vm["weights"].as<std::string>());
    } else if (command == "atlas") {
      const auto rows = read_mask_rows(need_data(vm));
      LungAtlas a = build_atlas(rows_with_masks(rows, "train"), vm["atlas-side"].as<int>(),
                                vm["source-balance"].as<double>(), std::cout);
      const fs::path out = vm["atlas-out"].as<std::string>();
      a.save(out);
      std::cout << "wrote " << out << "\n";
    } else if (command == "mask") {
      if (!vm.count("image")) throw ConfigError("mask: --image is required");
      LungMaskProviderOptions po_;
      if (!vm["no-segmenter"].as<bool>()) po_.segmenter_weights = vm["weights"].as<std::string>();
      po_.atlas = vm["atlas"].as<std::string>();
      LungMaskProvider provider(po_);
      const fs::path image = vm["image"].as<std::string>();
      std::optional<fs::path> explicit_mask;
      if (vm.count("mask-file")) explicit_mask = vm["mask-file"].as<std::string>();
      const LungMask m = provider.for_image(load_gray(image), image, explicit_mask);
      for (const auto& w : m.warnings) std::cerr << "warning: " << w << "\n";
      write_png_file(vm["output"].as<std::string>(), m.mask);
      std::cout << "source " << to_string(m.source) << (m.empty() ? " (empty)" : "") << ", wrote "
                << vm["output"].as<std::string>() << "\n";
    } else {
      std::cerr << "ensemble-masks: unknown command '" << command << "'\n" << kUsage;
      return 2;
    }
  } catch (const po::error& e) {
    std::cerr << "ensemble-masks: " << e.what() << "\n(see ensemble-masks --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ensemble-masks: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
