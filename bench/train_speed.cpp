// train-speed: training throughput (images/s) of zoo members at full width (issue 5).
// Times the step ensemble-train runs (gradgate::train_step: zero_grad, forward in train mode,
// class-weighted cross-entropy, backward, AdamW step with ensemble-train's defaults) on one
// fixed random batch, at a reduced input side. Prints the line format of zoo-speed, so
// bench/run_train_speed.sh can interleave it with bench/train_speed.py (the torchvision
// counterpart) and summarise both with zoo_speed.py's table:
//   RESULT cpp <member> full <batch> <side> <width> <median_ms per step> <images_per_s> <steps>
//   NA     cpp <member> full <batch> <side> <width> <reason>
#include <torch/torch.h>

#include <ATen/Parallel.h>
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <vector>

#include "bench_util.h"
#include "cli_common.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "process_policy.h"
#include "gradgate/parallel.h"
#include "gradgate/train.h"
#include "gradgate/train_step.h"
#include "gradgate/zoo/registry.h"

namespace po = boost::program_options;
using gradgate::bench::one_line;

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The step of gradgate::train_step cut into its four parts, each timed on its own (median over
// `steps` steps after one untimed step): where a slow step spends its time.
std::string step_parts(const gradgate::Member& m, torch::optim::Optimizer& opt, const torch::Tensor& x,
                       const torch::Tensor& y, const torch::Tensor& class_w, int steps) {
  namespace F = torch::nn::functional;
  std::vector<double> zero, fwd, bwd, step;
  for (int i = 0; i <= steps; ++i) {
    auto t = clock_type::now();
    opt.zero_grad();
    const double tz = seconds_since(t);
    t = clock_type::now();
    auto loss = F::cross_entropy(m->forward(x), y, F::CrossEntropyFuncOptions().weight(class_w));
    const double tf = seconds_since(t);
    t = clock_type::now();
    loss.backward();
    const double tb = seconds_since(t);
    t = clock_type::now();
    opt.step();
    loss.item<double>();
    const double ts = seconds_since(t);
    if (i == 0) continue;  // untimed: the first step allocates the optimiser state
    zero.push_back(tz);
    fwd.push_back(tf);
    bwd.push_back(tb);
    step.push_back(ts);
  }
  using gradgate::bench::median;
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << "zero_grad_ms=" << median(zero) * 1e3
    << "\tforward_ms=" << median(fwd) * 1e3 << "\tbackward_ms=" << median(bwd) * 1e3
    << "\tstep_ms=" << median(step) * 1e3;
  return o.str();
}

// The members torchvision also builds (the Python side can time the same network).
const char* kDefaultMembers =
    "alexnet,vgg16,vgg19,squeezenet,googlenet,inceptionv3,resnet18,resnet50,resnet101,"
    "densenet201,mobilenetv2,shufflenet";

// inceptionv3's unpadded stride-2 stem needs a larger input (networks.yaml uses 160 px for it
// in the reduced presets); train_speed.py applies the same rule.
int64_t side_for(const std::string& member, int64_t side) {
  return member == "inceptionv3" ? std::max<int64_t>(side, 160) : side;
}

}  // namespace

int main(int argc, char** argv) {
  gradgate::prepare_process(argv);
  std::string members_arg, config_dir;
  int threads = 1, warmup = 1, min_iters = 3, max_iters = 1000;
  int64_t side = 128, batch = 16;
  double min_time = 3.0, width_arg = 0.0;
  po::options_description opts("train-speed [options]\nOptions");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("config-dir", po::value(&config_dir), "folder holding networks.yaml (the full preset's width); default: GRADGATE_CONFIG_DIR or <source>/config")
    ("members", po::value(&members_arg)->default_value(kDefaultMembers), "comma-separated member names, or all")
    ("side", po::value(&side)->default_value(128), "input side (inceptionv3: at least 160)")
    ("width", po::value(&width_arg)->default_value(0.0), "channel multiplier; 0 = the full preset's (1.0)")
    ("batch", po::value(&batch)->default_value(16), "images per training step")
    ("threads", po::value(&threads)->default_value(1), "intra-op threads (configure_threads); 1 is what each member gets when ensemble-train trains two at once")
    ("warmup", po::value(&warmup)->default_value(1), "untimed training steps before timing")
    ("min-time", po::value(&min_time)->default_value(3.0), "time each member at least this many seconds")
    ("min-iters", po::value(&min_iters)->default_value(3), "and at least this many steps")
    ("max-iters", po::value(&max_iters)->default_value(1000), "stop after this many steps")
    ("parts", "also time the step's parts apart (PART lines: zero_grad, forward + loss, backward, optimiser step)");
  // clang-format on
  try {
    po::variables_map vm;
    if (!gradgate::parse_options(argc, argv, opts, vm)) return 0;
    const bool parts = vm.count("parts") > 0;
    gradgate::bench::check_timing_options(threads, min_iters, max_iters);
    if (side < 32) throw gradgate::ConfigError("--side must be >= 32");
    if (!(width_arg >= 0.0) || width_arg > 4.0) throw gradgate::ConfigError("--width must be in (0, 4]");
    if (batch < 2) throw gradgate::ConfigError("--batch must be >= 2 (batch norm in train mode)");

    const std::vector<std::string> members = gradgate::bench::members_to_time(members_arg);
    const auto networks =
        gradgate::load_networks_config(gradgate::resolve_config_dir(config_dir) / "networks.yaml");

    gradgate::configure_threads(threads, 1);  // one member, `threads` intra-op threads
    const gradgate::TrainOptions defaults;    // ensemble-train's optimiser settings
    std::cout << "INFO\tcpp\tthreads=" << at::get_num_threads()
              << " interop_threads=" << at::get_num_interop_threads()
              << " mkldnn=" << (at::globalContext().userEnabledMkldnn() ? "on" : "off")
              << " torch=" << TORCH_VERSION << " optimizer=" << defaults.optimizer
              << " lr=" << defaults.lr << " weight_decay=" << defaults.weight_decay
              << " loss=cross_entropy(class weights)\n";

    // Two classes, alternating labels: the --balance loss weights n / (k * n_c) are then 1,
    // but the weighted loss ensemble-train uses by default is the one timed.
    std::vector<int64_t> labels(batch);
    for (int64_t i = 0; i < batch; ++i) labels[i] = i % 2;
    const auto y = torch::tensor(labels, torch::kInt64);
    const auto class_w = torch::ones({2});

    for (const auto& name : members) {
      const double width = width_arg > 0 ? width_arg : networks.preset(name, "full").width;
      const int64_t s = side_for(name, side);
      std::ostringstream key;
      key << "cpp\t" << name << "\tfull\t" << batch << "\t" << s << "\t" << width;
      try {
        torch::manual_seed(0);
        gradgate::MemberOptions o;
        o.num_classes = 2;
        o.width = width;
        o.input_side = s;
        gradgate::Member m = gradgate::make_member(name, o);
        m->train();
        auto optimizer = gradgate::make_optimizer(m->parameters(), defaults);
        const auto x = torch::randn({batch, 3, s, s});
        const auto t = gradgate::bench::time_calls(
            [&] { gradgate::train_step(m, *optimizer, x, y, class_w); }, warmup, min_time,
            min_iters, max_iters);
        std::cout << "RESULT\t" << key.str() << "\t" << std::fixed << std::setprecision(3)
                  << t.median_s * 1e3 << "\t" << batch / t.median_s << "\t" << t.iters
                  << std::defaultfloat << std::endl;
        if (parts)
          std::cout << "PART\t" << key.str() << "\t"
                    << step_parts(m, *optimizer, x, y, class_w, std::max(min_iters, 3)) << std::endl;
      } catch (const std::exception& e) {
        std::cout << "NA\t" << key.str() << "\t" << one_line(e.what()) << std::endl;
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "train-speed: " << e.what() << "\n";
    return 2;
  }
}
