// ensemble-domain: the models folder's domain check (gradgate/domain.h).
//   fit   fits it on the task's train split, calibrates it on the val split, and writes
//         <models>/domain.pt and the manifest's `domain:` block;
//   loso  judges it leave-one-source-out, never changing the models folder.
// Thin: options, then the library call, then printing.
#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>

#include "cli_common.h"
#include "gradgate/domain.h"
#include "gradgate/error.h"
#include "process_policy.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace gradgate;

namespace {

// The options both commands take.
void add_common(po::options_description& opts, DomainFitRequest& rq, std::string& models, std::string& data,
                std::string& exclude, std::string& config_dir, bool& quiet, bool& members_only) {
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("models,m", po::value(&models)->required(), "models folder (manifest.yaml and the members' weights)")
    ("data,d", po::value(&data)->required(), "data set: manifest.csv, a folder holding one, a folder per class, or a CSV")
    ("task,t", po::value(&rq.task)->default_value("", "the manifest's"), "task (must be the models folder's)")
    ("exclude-source", po::value(&exclude)->default_value(""), "comma-separated sources left out of fitting and calibration")
    ("components", po::value(&rq.options.max_components)->default_value(rq.options.max_components), "principal directions per member, at most")
    ("quantile", po::value(&rq.options.quantile)->default_value(rq.options.quantile), "each member's threshold: this quantile of its val scores; the whole check flags 1 - this of the val split")
    ("members-only", po::bool_switch(&members_only), "leave out the film's look (its 24x24 thumbnail against the training films'): the members' features only")
    ("batch", po::value(&rq.batch)->default_value(rq.batch), "images per forward pass")
    ("threads", po::value(&rq.threads)->default_value(0), "cores to use (0: all)")
    ("config-dir", po::value(&config_dir)->default_value("", "GRADGATE_CONFIG_DIR or the source tree's config/"), "configuration folder")
    ("quiet,q", po::bool_switch(&quiet), "no progress bar");
  // clang-format on
}

void finish_request(DomainFitRequest& rq, const std::string& models, const std::string& data,
                    const std::string& exclude, const std::string& config_dir, bool quiet, bool members_only) {
  rq.options.image = !members_only;
  rq.models_dir = models;
  rq.data = data;
  rq.exclude_sources = split_list(exclude);
  rq.config_dir = config_dir;
  rq.progress = !quiet;
}

int run_fit(int argc, char** argv) {
  DomainFitRequest rq;
  std::string models, data, exclude, config_dir;
  bool quiet = false, members_only = false;
  po::options_description opts(
      "ensemble-domain fit --models DIR --data MANIFEST [--exclude-source S,...] [options]\n\n"
      "Fits the models folder's domain check: per member, a PCA-Mahalanobis model of its pooled\n"
      "study-layer features on the task's train split, its threshold at --quantile of the val split's\n"
      "scores, and the film's own look (a 24x24 thumbnail's shape and intensity statistics, the distance\n"
      "to the 5th nearest training film); a film is outside when either says so. Writes DIR/domain.pt and\n"
      "the `domain:` block of DIR/manifest.yaml; ensemble-classify then scores every image (results:\n"
      "domain_score, out_of_domain).\nOptions");
  add_common(opts, rq, models, data, exclude, config_dir, quiet, members_only);
  po::variables_map vm;
  if (!parse_options(argc, argv, opts, vm)) return 0;
  finish_request(rq, models, data, exclude, config_dir, quiet, members_only);
  const DomainFitSummary s = fit_models_domain(rq);
  std::printf("wrote %s (%.2f MB, %s): fitted on %lld train images, calibrated on %lld val images; "
              "%.1f%% of val flagged; %.0f s\n",
              s.file.string().c_str(), s.bytes / 1e6, s.hash.c_str(), static_cast<long long>(s.train_images),
              static_cast<long long>(s.val_images), 100.0 * s.val_flagged, s.seconds);
  return 0;
}

int run_loso(int argc, char** argv) {
  DomainFitRequest rq;
  std::string models, data, exclude, config_dir, out;
  bool quiet = false, members_only = false;
  po::options_description opts(
      "ensemble-domain loso --models DIR --data MANIFEST [--out DIR] [options]\n\n"
      "Leave-one-source-out: for every source S of the data set, fits the check without S (in a\n"
      "temporary folder; DIR is not changed) and counts how many of S's images (all splits, every\n"
      "diagnosis) it flags, against how many of the task's own test split without S.\n"
      "Writes loso.csv and loso.md to --out and prints the table.\nOptions");
  add_common(opts, rq, models, data, exclude, config_dir, quiet, members_only);
  std::string cache;
  opts.add_options()("out,o", po::value(&out)->default_value("."), "folder for loso.csv and loso.md")(
      "features-cache", po::value(&cache)->default_value(""),
      "file keeping every image's pooled features between runs (reused for the same data, weights and images)");
  po::variables_map vm;
  if (!parse_options(argc, argv, opts, vm)) return 0;
  finish_request(rq, models, data, exclude, config_dir, quiet, members_only);
  rq.features_cache = cache;
  const LosoResult r = loso_models_domain(rq);
  const std::string md = write_loso_files(r, out);
  std::cout << md << "\nwrote " << (fs::path(out) / "loso.csv").string() << " and loso.md in " << r.seconds
            << " s\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  prepare_process(argv);
  const std::string usage =
      "usage: ensemble-domain fit --models DIR --data MANIFEST [options]\n"
      "       ensemble-domain loso --models DIR --data MANIFEST [--out DIR] [options]\n"
      "       ensemble-domain fit|loso --help\n";
  try {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "fit") return run_fit(argc - 1, argv + 1);
    if (command == "loso") return run_loso(argc - 1, argv + 1);
    if (command == "--help" || command == "-h") {
      std::cout << usage;
      return 0;
    }
    std::cerr << "ensemble-domain: " << (command.empty() ? "a command is required" : "unknown command '" + command + "'")
              << "\n" << usage;
    return 2;
  } catch (const po::error& e) {
    std::cerr << "ensemble-domain: " << e.what() << "\n(see ensemble-domain " << argv[1] << " --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ensemble-domain: " << e.what() << "\n";
    return 1;
  }
}
