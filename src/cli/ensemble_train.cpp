// ensemble-train: train the ensemble's members on a task (transfer learning or from
// scratch) and write a models folder; `ensemble-train import` turns torchvision state dicts
// into such a folder without training. Thin: the work is in gradgate/train.h.
#include <boost/program_options.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <iostream>

#include "cli_common.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "process_policy.h"
#include "gradgate/train.h"

namespace po = boost::program_options;
using namespace gradgate;

namespace {

std::string fmt(double v) {
  if (std::isnan(v)) return "  n/a";
  char b[16];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

void print_summary(const TaskSpec& task, const TrainSummary& s) {
  std::cout << "member               side  width  epochs best  val       test-acc test-auc  recall ("
            << join(task.classes, ", ") << ")   img/s   train-s\n";
  for (const auto& m : s.members) {
    char line[200];
    std::snprintf(line, sizeof line, "%-20s %4lld  %5.3f  %6d %4d  %-8s  %-8s %-8s ", m.name.c_str(),
                  static_cast<long long>(m.input_side), m.width, m.epochs_run, m.best_epoch,
                  fmt(m.val_metric).c_str(), fmt(m.test.accuracy).c_str(), fmt(m.test.auc).c_str());
    std::string rec;
    for (double r : m.test.recall) rec += (rec.empty() ? "" : " ") + fmt(r);
    // train-s: seconds spent training this member, summed over resumed sessions.
    // A member kept from the models folder as it was shows its recorded figures, marked.
    std::cout << line << rec << "   " << fmt(m.images_per_second) << "   "
              << (m.train_seconds > 0 ? std::to_string(std::llround(m.train_seconds)) : std::string("-"))
              << (m.kept ? "  (kept)" : "") << "\n";
  }
  std::string rec;
  for (double r : s.ensemble_test.recall) rec += (rec.empty() ? "" : " ") + fmt(r);
  std::cout << "soft-vote ensemble (" << s.members.size() << " members) on test: accuracy "
            << fmt(s.ensemble_test.accuracy) << ", AUC " << fmt(s.ensemble_test.auc) << ", recall "
            << rec << "\nwrote " << s.manifest.string() << " (" << fmt(s.seconds) << " s, "
            << s.parallel_members << " member(s) at a time)\n";
}

// "vgg19=1e-4,vgg16=5e-4" -> pairs; names are checked against the run's members later.
std::vector<std::pair<std::string, double>> parse_member_lr(const std::string& text) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& item : split_list(text)) {
    const auto eq = item.find('=');
    double v = 0.0;
    std::size_t used = 0;
    try {
      if (eq != std::string::npos) v = std::stod(item.substr(eq + 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (eq == std::string::npos || eq == 0 || used == 0 || used != item.size() - eq - 1)
      throw ConfigError("--member-lr: expected NAME=RATE (e.g. vgg19=1e-4), got '" + item + "'");
    out.emplace_back(item.substr(0, eq), v);
  }
  return out;
}

int run_import(int argc, char** argv) {
  std::string task, from, out, members;
  ImportOptions io;
  po::options_description opts(
      "ensemble-train import --task T --from DIR --out DIR [options]\n\n"
      "Turns torchvision state dicts DIR/<member>.pt (torch.save(model.state_dict(), f)) into a\n"
      "models folder with a manifest, without training. Each classifier must already have the\n"
      "task's class count.\nOptions");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("task,t", po::value(&task)->required(), "task name (config/tasks/<T>.yaml) or a task YAML file")
    ("from", po::value(&from)->required(), "folder of <member>.pt state dicts")
    ("members", po::value(&members)->default_value(""), "comma-separated members (default: every <member>.pt found)")
    ("preset", po::value(&io.preset)->default_value("full"), "size preset the weights were made at: full | compact | tiny")
    ("out,o", po::value(&out)->required(), "output models folder");
  // clang-format on
  po::variables_map vm;
  if (!gradgate::parse_options(argc, argv, opts, vm)) return 0;
  io.members = parse_member_list(members, "--members");
  checked_preset(io.preset, "--preset");
  const TaskSpec spec = resolve_task(task);
  std::cout << "wrote " << import_members(spec, from, io, out).string() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  prepare_process(argv);
  try {
    if (argc > 1 && std::string(argv[1]) == "import") return run_import(argc - 1, argv + 1);

    std::string task, data, out, members, init, member_lr, weights_dtype;
    TrainOptions o;
    DistCli dist;
    po::options_description opts(
        "ensemble-train --task T --data MANIFEST|DIR --out DIR [options]\n"
        "ensemble-train import --help\n\n"
        "Trains each member on the task's train split, keeps the epoch that is best on the\n"
        "validation split, reports the test split and the soft-vote ensemble, and writes\n"
        "<member>.pt + manifest.yaml. Rerunning the same command resumes a killed run; members\n"
        "already in the output's manifest with the same data and settings are kept as they are.\nOptions");
    // clang-format off
    opts.add_options()
      ("help,h", "print this help and exit")
      ("task,t", po::value(&task)->required(), "task name (config/tasks/<T>.yaml) or a task YAML file")
      ("data,d", po::value(&data)->required(), "data set: manifest.csv, a folder holding one, a folder per class, or a CSV path,label")
      ("out,o", po::value(&out)->required(), "output models folder")
      ("preset", po::value(&o.preset)->default_value("compact"), "member size: full | compact | tiny")
      ("members", po::value(&members)->default_value(""), "comma-separated members (default: the task's)")
      ("init", po::value(&init)->default_value(""), "start from <member>.pt in this folder: torchvision state dicts, or a gradgate models folder such as models/pneumonia (classifier replaced)")
      ("freeze", po::value(&o.freeze)->default_value(0), "keep the first N parameter tensors fixed")
      ("epochs", po::value(&o.epochs)->default_value(10), "maximum epochs per member")
      ("batch", po::value(&o.batch)->default_value(16), "images per batch")
      ("lr", po::value(&o.lr)->default_value(1e-3), "peak learning rate")
      ("member-lr", po::value(&member_lr)->default_value(""), "per-member peak learning rates, e.g. vgg19=1e-4 (comma-separated)")
      ("weight-decay", po::value(&o.weight_decay)->default_value(1e-4), "weight decay")
      ("optimizer", po::value(&o.optimizer)->default_value("adamw"), "adamw | sgd (momentum 0.9, Nesterov)")
      ("warmup", po::value(&o.warmup_epochs)->default_value(1), "epochs of linear warm-up before the cosine decay")
      ("patience", po::value(&o.patience)->default_value(5), "stop a member after N epochs without validation improvement")
      ("select", po::value(&o.select)->default_value("loss"), "validation metric that picks the epoch: loss | auc")
      ("balance", po::value(&o.balance)->default_value("loss"), "class balance: loss (weights) | sampler | none")
      ("no-augment", "no augmentation")
      ("hflip", "also flip horizontally at random (off: the heart is on the left)")
      ("weights-dtype", po::value(&weights_dtype)->default_value("float16"), "how <member>.pt is stored: float16 (half the size) | int8 (convolution and linear weights per output channel, about a quarter) | float32; figures are of the stored weights")
      ("lung-penalty", po::value(&o.lung_penalty)->default_value(0.0), "weight of the penalty on Grad-CAM evidence outside the lung mask (training images with a mask; 0 = off)")
      ("seed", po::value(&o.seed)->default_value(1), "random seed (initialisation, order, augmentation)")
      ("threads", po::value(&o.threads)->default_value(0), "threads in all (0 = every core)")
      ("parallel-members", po::value(&o.parallel_members)->default_value(-1, "auto"), "members trained at once, each on one thread (1 = one after another on all threads)")
      ("cache-mb", po::value(&o.cache_mb)->default_value(512), "memory for preprocessed images, all members together")
      ("no-domain", "do not fit the domain check (domain.pt) after training")
      ("restart", "ignore checkpoints of an earlier run and start again")
      ("quiet,q", "no progress line");
    // clang-format on
    dist.add_to(opts, "data: every member trained by all ranks, each taking its share of every batch; members: each rank trains whole members (round robin) into an output folder all ranks share");
    po::variables_map vm;
    if (!gradgate::parse_options(argc, argv, opts, vm, nullptr,
        "  ensemble-train --task covid-vs-other --data ../shared/data/cxr/manifest.csv --out models/covid-vs-other --epochs 6 --patience 3 --member-lr vgg19=1e-4\n"
        "  ensemble-train --task pneumonia --data DATA --out models/pneumonia --members resnet18,darknet19   # add members to a folder\n"
        "  ensemble-train --task covid-vs-all --data DATA --out models/cva --init models/pneumonia   # start from trained members\n"
        "  ensemble-train ... --world-size 2 --rank 0 & ensemble-train ... --world-size 2 --rank 1   # two processes, one member at a time\n")) return 0;
    // The task files' validators (config.h): errors, never defaults.
    o.members = parse_member_list(members, "--members");
    checked_preset(o.preset, "--preset");
    checked_threads(o.threads, "--threads");
    if (o.parallel_members == 0 || o.parallel_members < -1)
      throw ConfigError("--parallel-members: expected 1 or more (or -1, automatic), got " +
                        std::to_string(o.parallel_members));
    o.member_lr = parse_member_lr(member_lr);
    o.init_dir = init;
    o.weights_dtype = parse_choice("weights-dtype", weight_storage_names(), weights_dtype);
    o.augment = !vm.count("no-augment");
    o.hflip = vm.count("hflip") > 0;
    o.resume = !vm.count("restart");
    o.fit_domain = !vm.count("no-domain");
    o.progress = !vm.count("quiet");
    o.dist = dist.dist_options();
    const TaskSpec spec = resolve_task(task);
    const TrainSummary summary = train_ensemble(spec, data, o, out);
    if (o.dist.rank == 0)
      print_summary(spec, summary);
    else
      std::cout << describe(o.dist) << ": done; rank 0 wrote " << out << "\n";
    return 0;
  } catch (const po::error& e) {
    std::cerr << "ensemble-train: " << e.what() << "\n(see ensemble-train --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ensemble-train: " << e.what() << "\n";
    return 1;
  }
}
