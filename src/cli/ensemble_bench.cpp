// ensemble-bench: the accuracy of the members, the plain and the gated ensemble from an
// ensemble-classify run's results (nothing recomputed), or after running classify on a split.
// Thin: options, then the library (gradgate/bench.h, evaluate.h, classify.h).
#include <boost/program_options.hpp>

#include <chrono>
#include <iostream>

#include "cli_common.h"
#include "gradgate/bench.h"
#include "gradgate/classify.h"
#include "gradgate/config.h"
#include "gradgate/dataset.h"
#include "gradgate/error.h"
#include "process_policy.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace gradgate;

int main(int argc, char** argv) {
  prepare_process(argv);
  std::string results, data, manifest, out, split, task, models, config_dir;
  BenchOptions bo;
  int limit = 0, sheet_images = 64;
  bool allow_untrained = false, no_figures = false, overlays = false;
  po::options_description opts(
      "ensemble-bench --results RUN [--manifest M] [--out DIR]\n"
      "ensemble-bench --task T --data MANIFEST --split val|test --out DIR   (runs ensemble-classify first)\n\n"
      "Accuracy, balanced accuracy, per-class sensitivity/specificity/PPV, AUC and confusion matrix of every\n"
      "member, the plain ensemble and the gated ensemble at the run's own gate setting (run.json), with 95%\n"
      "intervals by a bootstrap over patients and McNemar's paired test gated vs plain; the members' in-lung\n"
      "shares and drop rates; curves along the threshold. Replayed from results.jsonl: no network runs.\n"
      "Writes bench.json, bench.csv, figures/*.png and report.html to --out; prints the table.\n"
      "Exit code: 0 done, 2 bad input or usage.\n\nOptions");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("results,r", po::value(&results), "an ensemble-classify output folder, or its results.jsonl")
    ("manifest", po::value(&manifest), "data set (manifest/CSV) giving true labels and patient ids (default: --data; without either, results.jsonl's true_label and one patient per image)")
    ("task,t", po::value(&task), "with --data: the task to classify")
    ("data", po::value(&data), "with --split: run ensemble-classify on this data set's split first")
    ("split", po::value(&split), "val | test (with --data)")
    ("limit", po::value(&limit)->default_value(0), "with --data: at most this many images, evenly spaced (0: all)")
    ("models,m", po::value(&models)->default_value("", "the task's models_dir"), "with --data: models folder")
    ("overlays", po::bool_switch(&overlays), "with --data: let classify write overlays (needed for the contact sheets; slower)")
    ("out,o", po::value(&out), "output folder (default: <run>/bench; with --data required, the run goes to <out>/run)")
    ("bootstrap", po::value(&bo.bootstrap)->default_value(bo.bootstrap), "bootstrap draws over patients (0: no intervals)")
    ("seed", po::value(&bo.seed)->default_value(bo.seed), "bootstrap seed")
    ("allow-untrained", po::bool_switch(&allow_untrained), "bench a run whose members had random weights (every output is marked)")
    ("no-figures", po::bool_switch(&no_figures), "skip the PNG figures (report.html then has tables only)")
    ("sheet-images", po::value(&sheet_images)->default_value(sheet_images), "images per member contact sheet")
    ("config-dir", po::value(&config_dir)->default_value("", "GRADGATE_CONFIG_DIR or the source tree's config/"), "configuration folder");
  // clang-format on
  try {
    po::variables_map vm;
    if (!parse_options(argc, argv, opts, vm, nullptr,
        "  ensemble-bench --task pneumonia --data ../shared/data/cxr/manifest.csv --split test --out out/bench/pn-test\n"
        "  ensemble-bench --results out/bench/pn-test/run --out out/bench/pn-test-again\n")) return 0;
    const auto t0 = std::chrono::steady_clock::now();
    if (results.empty() == data.empty())
      throw Error("give either --results RUN or --data MANIFEST --split val|test --task T");
    if (bo.bootstrap < 0) throw ConfigError("--bootstrap must be >= 0");
    if (!data.empty()) {
      require_task(task);
      const auto s = parse_split(split);
      if (!s) throw ConfigError("--split must be val or test (or train), got '" + split + "'");
      if (out.empty()) throw ConfigError("--out is required with --data");
      const TaskConfig tc = load_task(task, resolve_config_dir(config_dir));
      const fs::path inputs = fs::path(out) / "inputs.csv";
      const size_t n = write_split_inputs(*open_dataset(data), tc.task, static_cast<int>(*s), limit, inputs);
      std::cerr << "ensemble-bench: classifying " << n << " images of " << task << "'s " << split_name(*s)
                << " split into " << (fs::path(out) / "run").string() << "\n";
      ClassifyRequest rq;
      rq.task = task;
      rq.config_dir = config_dir;
      rq.models_dir = models;
      rq.inputs = {inputs.string()};
      rq.out = fs::path(out) / "run";
      rq.overlays = overlays;
      rq.montage = false;
      rq.allow_untrained = allow_untrained;
      run_classify(rq);
      results = rq.out.string();
      if (manifest.empty()) manifest = data;
    }
    RunResults run = load_labelled_run(results, manifest, config_dir, allow_untrained);
    const fs::path out_dir = out.empty() ? run.dir / "bench" : fs::path(out);
    const BenchResult b = run_bench(run, bo);
    std::cout << bench_text(b);
    write_bench_files(b, out_dir);
    std::vector<FigureFile> figures;
    if (!no_figures) figures = write_bench_figures(b, run, out_dir, sheet_images);
    write_bench_html(b, figures, out_dir);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "\nwrote " << (out_dir / "bench.json").string() << ", bench.csv, report.html and " << figures.size()
              << " figures in " << seconds << " s\n";
    if (b.untrained()) std::cerr << "\n" << untrained_warning(b.run) << "\n";
    return 0;
  } catch (const po::error& e) {
    std::cerr << "ensemble-bench: " << e.what() << "\n(see ensemble-bench --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ensemble-bench: " << e.what() << "\n";
    return 2;
  }
}
