// gradcam-cost: what Grad-CAM costs relative to a plain forward pass, per member.
//   forward      : member->forward(x) under NoGradGuard
//   head-only    : compute_cam (trunk without graph, backward through the head only)
//   full graph   : the whole network records a graph and backward() runs through all of it
// Usage: gradcam-cost [--preset tiny|compact|full] [--batch N] [--reps R] [--members a,b,...]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gradgate/error.h"
#include "gradgate/gradcam.h"
#include "gradgate/parallel.h"
#include "gradgate/zoo/registry.h"
#include "gradgate/config.h"
#include "process_policy.h"

using namespace gradgate;
using Clock = std::chrono::steady_clock;

namespace {

template <class F>
double best_ms(int reps, F&& f) {
  f();  // warm-up
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  gradgate::prepare_process(argv);
  std::string preset = "tiny";
  int64_t batch = 4;
  int reps = 3;
  std::vector<std::string> names = member_names();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw ConfigError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--preset") preset = next();
    else if (a == "--batch") batch = std::stoll(next());
    else if (a == "--reps") reps = std::stoi(next());
    else if (a == "--members") {
      names.clear();
      std::stringstream ss(next());
      for (std::string n; std::getline(ss, n, ',');) names.push_back(n);
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  const auto plan = configure_threads(0, 1);  // one member at a time, all cores inside it
  std::printf("preset %s, batch %lld, %d intra-op threads, best of %d\n", preset.c_str(),
              static_cast<long long>(batch), plan.intra_op_threads, reps);
  std::printf("%-18s %10s %10s %10s %8s %8s\n", "member", "fwd ms", "head ms", "full ms",
              "head/fwd", "full/fwd");
  const NetworksConfig nets = load_networks_config(default_config_dir() / "networks.yaml");
  for (const auto& name : names) {
    MemberOptions o;
    o.num_classes = 2;
    const PresetSpec p = nets.preset(name, preset);  // config/networks.yaml
    o.width = p.width;
    o.input_side = p.input_side;
    Member m;
    try {
      m = make_member(name, o);
    } catch (const ModelError& e) {
      std::printf("%-18s (skipped: %s)\n", name.c_str(), e.what());
      continue;
    }
    m->eval();
    torch::manual_seed(0);
    const auto x = torch::randn({batch, 3, o.input_side, o.input_side});
    const double fwd = best_ms(reps, [&] {
      torch::NoGradGuard ng;
      m->forward(x);
    });
    const double head = best_ms(reps, [&] { compute_cam(*m, x); });
    const double full = best_ms(reps, [&] {
      // As hook-based tools do: backward() through the whole network (parameter grads too).
      auto a = m->features(x);
      a.retain_grad();
      auto logits = m->head(a);
      logits.gather(1, logits.detach().argmax(1, true)).sum().backward();
      cam_from_gradients(a.detach(), a.grad(), CamMethod::GradCam);
      m->zero_grad();
    });
    std::printf("%-18s %10.1f %10.1f %10.1f %8.2f %8.2f\n", name.c_str(), fwd, head, full,
                head / fwd, full / fwd);
    std::fflush(stdout);
  }
  return 0;
}
