// zoo-speed: forward-pass throughput of every zoo member in eval mode (issue 3).
// Prints one tab-separated line per (member, preset, batch) so bench/run_zoo_speed.sh can
// interleave it with bench/zoo_speed.py (the torchvision counterpart) and build one table:
//   RESULT cpp <member> <preset> <batch> <side> <width> <median_ms> <images_per_s> <iters>
//   NA     cpp <member> <preset> <batch> <side> <width> <reason>
// Run it alone for a quick look; the script is what compares C++ with Python.
#include <torch/torch.h>

#include <ATen/Parallel.h>
#include <boost/program_options.hpp>

#include <iomanip>
#include <iostream>
#include <sstream>
#include <vector>

#include "cli_common.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "gradgate/zoo/registry.h"
#include "process_policy.h"
#include "bench_util.h"
#include "gradgate/parallel.h"

namespace po = boost::program_options;

using gradgate::bench::one_line;

int main(int argc, char** argv) {
  gradgate::prepare_process(argv);
  std::string members_arg, presets_arg, batches_arg, config_dir;
  int threads = 2, warmup = 2, min_iters = 3, max_iters = 1000;
  double min_time = 2.0;
  po::options_description opts("zoo-speed [options]\nOptions");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("config-dir", po::value(&config_dir), "folder holding networks.yaml (presets); default: GRADGATE_CONFIG_DIR or <source>/config")
    ("members", po::value(&members_arg)->default_value("all"), "comma-separated member names, or all")
    ("presets", po::value(&presets_arg)->default_value("full,compact"), "comma-separated presets of networks.yaml: full, compact, tiny")
    ("batches", po::value(&batches_arg)->default_value("1,8"), "comma-separated batch sizes")
    ("threads", po::value(&threads)->default_value(2), "intra-op threads (gradgate::configure_threads)")
    ("warmup", po::value(&warmup)->default_value(2), "untimed forward passes before timing")
    ("min-time", po::value(&min_time)->default_value(2.0), "time each configuration at least this many seconds")
    ("min-iters", po::value(&min_iters)->default_value(3), "and at least this many iterations")
    ("max-iters", po::value(&max_iters)->default_value(1000), "stop after this many iterations")
    ("parts", "also time features(x) and head(a) apart (PART lines: where a slow forward spends its time)");
  // clang-format on
  try {
    po::variables_map vm;
    if (!gradgate::parse_options(argc, argv, opts, vm)) return 0;
    const bool parts = vm.count("parts") > 0;
    gradgate::bench::check_timing_options(threads, min_iters, max_iters);

    const std::vector<std::string> members = gradgate::bench::members_to_time(members_arg);
    const auto presets = gradgate::split_list(presets_arg);
    std::vector<int64_t> batches;
    for (const auto& b : gradgate::split_list(batches_arg)) {
      batches.push_back(std::stoll(b));
      if (batches.back() < 1) throw gradgate::ConfigError("--batches: sizes must be >= 1, got " + b);
    }

    // Presets (input side, width) come from networks.yaml, as for the CLI tools.
    const auto networks =
        gradgate::load_networks_config(gradgate::resolve_config_dir(config_dir) / "networks.yaml");
    for (const auto& m : members)
      for (const auto& p : presets) networks.preset(m, p);  // fail before timing, not halfway

    // As the tools run one member: `threads` intra-op threads (and as many OpenBLAS threads).
    gradgate::configure_threads(threads, 1);
    torch::manual_seed(0);
    std::cout << "INFO\tcpp\tthreads=" << at::get_num_threads()
              << " interop_threads=" << at::get_num_interop_threads()
              << " blas_threads=" << gradgate::blas_threads()
              << " mkldnn=" << (at::globalContext().userEnabledMkldnn() ? "on" : "off")
              << " torch=" << TORCH_VERSION << "\n";

    for (const auto& name : members) {
      for (const auto& preset_name : presets) {
        const gradgate::PresetSpec p = networks.preset(name, preset_name);
        gradgate::Member m;
        std::string build_error;
        try {
          gradgate::MemberOptions o;
          o.width = p.width;
          o.input_side = p.input_side;
          m = gradgate::make_member(name, o);
          m->eval();
        } catch (const std::exception& e) {
          build_error = one_line(e.what());
        }
        for (int64_t batch : batches) {
          std::ostringstream key;
          key << "cpp\t" << name << "\t" << preset_name << "\t" << batch << "\t"
              << p.input_side << "\t" << p.width;
          if (!m) {
            std::cout << "NA\t" << key.str() << "\t" << build_error << std::endl;
            continue;
          }
          try {
            torch::InferenceMode guard;
            const auto x = torch::randn({batch, 3, p.input_side, p.input_side});
            const auto t = gradgate::bench::time_calls([&] { m->forward(x); }, warmup, min_time,
                                                       min_iters, max_iters);
            std::cout << "RESULT\t" << key.str() << "\t" << std::fixed << std::setprecision(3)
                      << t.median_s * 1e3 << "\t" << batch / t.median_s << "\t" << t.iters
                      << std::endl;
            if (parts) {
              const auto a = m->features(x);
              const auto tf = gradgate::bench::time_calls([&] { m->features(x); }, warmup,
                                                          min_time, min_iters, max_iters);
              const auto th = gradgate::bench::time_calls([&] { m->head(a); }, warmup, min_time,
                                                          min_iters, max_iters);
              std::cout << "PART\t" << key.str() << "\tfeatures_ms=" << tf.median_s * 1e3
                        << "\thead_ms=" << th.median_s * 1e3 << std::endl;
            }
          } catch (const std::exception& e) {
            std::cout << "NA\t" << key.str() << "\t" << one_line(e.what()) << std::endl;
          }
        }
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "zoo-speed: " << e.what() << "\n";
    return 2;
  }
}
