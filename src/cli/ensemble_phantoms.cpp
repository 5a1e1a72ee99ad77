// ensemble-phantoms: writes a synthetic chest X-ray data set (images, lung masks and a
// manifest.csv in the cxr format) so the demo and tests run without the real data.
#include <boost/program_options.hpp>

#include <iostream>

#include "cli_common.h"
#include "gradgate/error.h"
#include "gradgate/phantom.h"
#include "process_policy.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  gradgate::prepare_process(argv);
  std::string out;
  int per_class = 0, side = 0;
  uint64_t seed = 0;
  po::options_description opts("ensemble-phantoms --out DIR [options]\nOptions");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("out,o", po::value(&out)->required(), "output folder (images/, masks/, manifest.csv)")
    ("per-class", po::value(&per_class)->default_value(40), "images per diagnosis (normal, bacterial, viral, covid)")
    ("side", po::value(&side)->default_value(224), "image side in pixels")
    ("seed", po::value(&seed)->default_value(1), "random seed");
  // clang-format on
  try {
    po::variables_map vm;
    if (!gradgate::parse_options(argc, argv, opts, vm, nullptr,
        "  ensemble-phantoms --out out/phantoms\n"
        "  ensemble-phantoms --out out/phantoms --per-class 10 --side 256 --seed 7\n")) return 0;
    if (per_class < 1) throw gradgate::ConfigError("--per-class must be >= 1, got " + std::to_string(per_class));
    auto manifest = gradgate::write_phantom_dataset(out, per_class, side, seed);
    std::cout << "wrote " << 4 * per_class << " phantoms and " << manifest.string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ensemble-phantoms: " << e.what() << "\n";
    return 2;
  }
}
