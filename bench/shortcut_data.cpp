// shortcut-data: the shortcut benchmark's data set (gradgate/shortcut.h). Real chest X-rays
// with a marker planted outside the lungs, going with one class in training (--rate) and with
// the other in the reversed test split; a clean test split has none. bench/run_shortcut.sh
// trains members on it and judges the gate with shortcut-report.
#include <boost/program_options.hpp>

#include <iostream>

#include "cli_common.h"
#include "gradgate/common/strings.h"
#include "process_policy.h"
#include "gradgate/shortcut.h"

namespace po = boost::program_options;
using namespace gradgate;

int main(int argc, char** argv) {
  prepare_process(argv);
  std::string data, out, kinds;
  ShortcutOptions o;
  po::options_description opts("shortcut-data --data MANIFEST --out DIR [options]\nOptions");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("data", po::value(&data)->required(), "the cxr manifest.csv (rows need lung masks)")
    ("out,o", po::value(&out)->required(), "new folder for images/, markers/ and the manifests")
    ("task", po::value(&o.task)->default_value("pneumonia"), "task whose classes and sources are used")
    ("marked-class", po::value(&o.marked_class)->default_value(""), "class the marker goes with in training (default: the task's last)")
    ("rate", po::value(&o.rate)->default_value(0.95), "P(marker | marked class) in training and val; 1 - rate for the others; reversed in the test split")
    ("kinds", po::value(&kinds)->default_value("square,letter,tag"), "marker kinds: square, letter, tag")
    ("margin", po::value(&o.margin)->default_value(0.03), "free band between marker and lungs, as a fraction of the shorter side")
    ("seed", po::value(&o.seed)->default_value(1), "random seed (same seed, same files)");
  // clang-format on
  try {
    po::variables_map vm;
    if (!parse_options(argc, argv, opts, vm)) return 0;
    o.kinds.clear();
    for (const auto& k : split_list(kinds)) o.kinds.push_back(marker_kind_from_string(k));
    const ShortcutSummary s = make_shortcut_dataset(data, out, o);
    std::cout << "shortcut-data: " << out << ": train " << s.train << " (" << s.marked_train
              << " marked), val " << s.val << " (" << s.marked_val << " marked), test " << s.test
              << " (clean: none marked; reversed: " << s.marked_reversed << " marked); marker goes with '"
              << s.marked_class << "'; left out: " << s.skipped_no_room << " without room clear of the lungs, "
              << s.skipped_no_mask << " without a lung mask\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "shortcut-data: " << e.what() << "\n";
    return 2;
  }
}
