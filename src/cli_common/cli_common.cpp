// The tools' shared pieces (gradgate_cli; see cli_common.h). Not part of the gradgate library.
#include "cli_common.h"

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "gradgate/common/strings.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "gradgate/report.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/task.h"
#include "gradgate/zoo/registry.h"

namespace gradgate {

bool parse_options(int argc, char** argv, const boost::program_options::options_description& opts,
                   boost::program_options::variables_map& vm,
                   const boost::program_options::positional_options_description* positional,
                   const char* examples) {
  namespace po = boost::program_options;
  if (print_version_if_asked(argc, argv)) return false;
  po::command_line_parser parser(argc, argv);
  parser.options(opts);
  if (positional) parser.positional(*positional);
  po::store(parser.run(), vm);
  if (vm.count("help")) {
    std::cout << opts << "  --version                      print the tool's name and gradgate's version and exit\n";
    if (examples) std::cout << "\nExamples:\n" << examples;
    return false;
  }
  po::notify(vm);
  return true;
}

void print_task_table(std::ostream& out) {
  out << std::left << std::setw(20) << "task" << std::setw(44) << "classes" << "trained members\n";
  for (const auto& name : task_names()) {
    std::string classes, trained;
    try {
      const TaskConfig task = load_task(name);
      classes = join(task.task.classes, ", ");
      const std::filesystem::path dir = task.ensemble.models_dir;
      if (!std::filesystem::exists(dir / "manifest.yaml")) {
        trained = "none (" + dir.string() + " has no manifest.yaml)";
      } else {
        const ModelsManifest mm = load_models_manifest(dir);
        std::ostringstream s;
        s << mm.members.size() << " in " << dir.string();
        if (mm.ensemble_test_accuracy)
          s << ", soft vote test accuracy " << std::fixed << std::setprecision(3) << *mm.ensemble_test_accuracy;
        trained = s.str();
      }
    } catch (const std::exception& e) {
      trained = std::string("unusable: ") + e.what();
    }
    out << std::left << std::setw(20) << name << std::setw(44) << classes << trained << "\n";
  }
}

bool print_version_if_asked(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--version") {
      std::cout << std::filesystem::path(argv[0]).filename().string() << " (gradgate) "
                << gradgate_version() << "\n"
                << "data: " << data_home().string() << " (config, models, masks)\n";
      return true;
    }
  return false;
}

void print_network_table(std::ostream& out, const std::string& preset) {
  const NetworksConfig nets = load_networks_config(default_config_dir() / "networks.yaml");
  out << std::left << std::setw(19) << "member" << std::setw(20) << "torchvision" << std::setw(8)
      << "preset" << std::right << std::setw(6) << "side" << std::setw(7) << "width"
      << std::setw(13) << "parameters" << std::setw(7) << "grid" << std::setw(7) << "study" << "  "
      << std::left << std::setw(26) << "fine layer (default)" << std::setw(18) << "study layer" << "study's name\n";
  for (const auto& info : member_infos()) {
    const PresetSpec p = nets.preset(info.name, preset);
    std::string params, grid, study_grid, fine_layer = "n/a";
    try {
      Member m = make_member(info.name, {1000, p.width, p.input_side, p.classifier_width});
      int64_t n = 0;
      for (const auto& t : m->parameters()) n += t.numel();
      params = std::to_string(n);
      const cv::Size g = feature_grid(m, p.input_side, CamLayer::Fine);
      grid = std::to_string(g.height) + "x" + std::to_string(g.width);
      const cv::Size s = feature_grid(m, p.input_side, CamLayer::Study);
      study_grid = std::to_string(s.height) + "x" + std::to_string(s.width);
      fine_layer = m->fine_layer();
    } catch (const std::exception& e) {
      params = grid = study_grid = "n/a";
    }
    out << std::left << std::setw(19) << info.name << std::setw(20)
        << (info.torchvision.empty() ? "-" : info.torchvision) << std::setw(8) << preset
        << std::right << std::setw(6) << p.input_side << std::setw(7) << p.width << std::setw(13)
        << params << std::setw(7) << grid << std::setw(7) << study_grid << "  " << std::left << std::setw(26)
        << fine_layer << std::setw(18) << info.feature_layer << info.matlab_layer << "\n";
  }
}

DistCli::DistCli() {
  // Unset: resolve_dist_options takes these from the environment, then its defaults.
  given_.world_size = 0;
  given_.rank = -1;
  given_.master_addr.clear();
  given_.master_port = 0;
}

namespace po = boost::program_options;

void DistCli::add_to(po::options_description& opts, const char* modes_help) {
  po::options_description d(
      "Several processes, on one machine or several (torchrun's and Slurm launchers' variables\n"
      "are read for the options not given)");
  // clang-format off
  d.add_options()
    ("world-size", po::value(&given_.world_size), "processes in all (WORLD_SIZE; default 1)")
    ("rank", po::value(&given_.rank), "this process, 0..world-size-1 (RANK); rank 0 hosts the rendezvous and writes the results")
    ("master-addr", po::value(&given_.master_addr), "rank 0's address (MASTER_ADDR; default 127.0.0.1)")
    ("master-port", po::value(&given_.master_port), "rank 0's rendezvous TCP port (MASTER_PORT; default 29500)")
    ("gloo-interface", po::value(&given_.interface), "network interface for Gloo (GLOO_SOCKET_IFNAME; default: the host name's address)")
    ("dist-timeout", po::value(&given_.timeout_seconds)->default_value(300), "seconds a rank waits for the others before failing");
  if (modes_help) d.add_options()("dist-mode", po::value(&mode_)->default_value("data"), modes_help);
  // clang-format on
  opts.add(d);
}

DistOptions DistCli::dist_options() const {
  DistOptions o = given_;
  o.mode = dist_mode_names().from_string(mode_);
  return resolve_dist_options(o);
}

}  // namespace gradgate
