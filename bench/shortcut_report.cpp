// shortcut-report: the shortcut benchmark's tables (gradgate/shortcut_report.h) from a
// shortcut-data folder and two ensemble-classify --save-maps runs over its test-clean.csv and
// test-reversed.csv. bench/run_shortcut.sh runs the whole benchmark.
#include <boost/program_options.hpp>

#include <iostream>

#include "cli_common.h"
#include "process_policy.h"
#include "gradgate/shortcut_report.h"

namespace po = boost::program_options;
using namespace gradgate;

int main(int argc, char** argv) {
  prepare_process(argv);
  std::string data, clean, reversed;
  ShortcutEvalOptions o;
  po::options_description opts("shortcut-report --data DIR --clean RUN --reversed RUN [options]\nOptions");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("data", po::value(&data)->required(), "the shortcut-data folder (markers.csv, markers/)")
    ("clean", po::value(&clean)->required(), "ensemble-classify --save-maps output over test-clean.csv")
    ("reversed", po::value(&reversed)->required(), "ensemble-classify --save-maps output over test-reversed.csv")
    ("looked-lift", po::value(&o.looked_lift)->default_value(o.looked_lift), "a pair looked at the marker when its mass there is >= this times the marker's area share")
    ("used-delta", po::value(&o.used_delta)->default_value(o.used_delta), "a pair used the marker when the marked copy raised p(marked class) by >= this over the clean copy (or turned the answer into that class)")
    ("quorum", po::value(&o.quorum)->default_value(o.quorum), "gated ensemble: members that must be kept, else it abstains")
    ("bootstrap", po::value(&o.bootstrap_reps)->default_value(o.bootstrap_reps), "bootstrap repetitions for the 95% intervals")
    ("seed", po::value(&o.bootstrap_seed)->default_value(o.bootstrap_seed), "bootstrap seed");
  // clang-format on
  try {
    po::variables_map vm;
    if (!parse_options(argc, argv, opts, vm)) return 0;
    if (!(o.looked_lift > 0)) throw Error("--looked-lift must be > 0");
    if (!(o.used_delta > 0 && o.used_delta <= 1)) throw Error("--used-delta must be in (0, 1]");
    if (o.quorum < 1) throw Error("--quorum must be >= 1");
    if (o.bootstrap_reps < 1) throw Error("--bootstrap must be >= 1");
    print_shortcut_report(std::cout, shortcut_report(data, clean, reversed, o));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "shortcut-report: " << e.what() << "\n";
    return 2;
  }
}
