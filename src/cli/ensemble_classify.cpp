// ensemble-classify: classify chest X-rays with the gated ensemble.
// Thin: parses options, then hands over to the library (gradgate/classify.h).
#include <boost/program_options.hpp>

#include <iostream>

#include "gradgate/cli_common.h"
#include "gradgate/error.h"
#include "gradgate/task.h"
#include "gradgate/zoo/registry.h"

namespace po = boost::program_options;
using namespace gradgate;

int main(int argc, char** argv) {
  std::string task, models, out, vote, fallback, cam, preset, members;
  double tau = -1.0;
  int quorum = 0;
  std::vector<std::string> inputs;

  po::options_description opts("ensemble-classify [options] INPUT...\n\n"
                               "INPUT: image files, folders of images, or a manifest/CSV.\n"
                               "Options");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("list-tasks", "list the tasks and exit")
    ("list-networks", "list the 19 members (preset, input side, parameters, feature layer) and exit")
    ("task,t", po::value(&task), ("task: " + join(task_names(), " | ")).c_str())
    ("models,m", po::value(&models)->default_value(""), "models folder (default: the task's, from config/tasks/<task>.yaml)")
    ("preset", po::value(&preset)->default_value("compact"), "member size preset: full | compact | tiny")
    ("members", po::value(&members)->default_value(""), "comma-separated members (default: the task's)")
    ("tau", po::value(&tau)->default_value(-1.0, "task's"), "gate: minimum in-lung share of Grad-CAM mass in [0,1]")
    ("quorum", po::value(&quorum)->default_value(0, "task's"), "gate: members that must pass, else the fallback decides")
    ("fallback", po::value(&fallback)->default_value("", "task's"), "when fewer than quorum pass: abstain | all | best")
    ("vote", po::value(&vote)->default_value("", "task's"), "vote rule: soft | hard | weighted")
    ("cam", po::value(&cam)->default_value("gradcam"), "saliency: gradcam | gradcampp | hirescam")
    ("out,o", po::value(&out)->default_value("out"), "output folder")
    ("input", po::value(&inputs)->multitoken(), "inputs (positional)");
  // clang-format on
  po::positional_options_description pos;
  pos.add("input", -1);

  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    if (vm.count("list-tasks")) {
      for (const auto& t : task_names()) std::cout << t << "\n";
      return 0;
    }
    if (vm.count("list-networks")) {
      print_network_table(std::cout, preset);
      return 0;
    }
    require_task(task);
    if (inputs.empty()) throw Error("no INPUT given: name image files, folders or a manifest/CSV");
    std::cerr << "ensemble-classify: classification is not wired yet\n";
    return 2;
  } catch (const po::error& e) {
    std::cerr << "ensemble-classify: " << e.what() << "\n(see ensemble-classify --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ensemble-classify: " << e.what() << "\n";
    return 2;
  }
}
