// ensemble-tune: sweep the gate on a validation run's results, choose by a stated rule, report
// the choice on a test run (with intervals and the paired test), and with --write record it
// in the models folder's manifest.yaml, where ensemble-classify takes it as the task's
// default. Thin: options, then the library (gradgate/tune.h, bench.h).
#include <boost/program_options.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli_common.h"
#include "gradgate/bench.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "process_policy.h"
#include "gradgate/tune.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace gradgate;

namespace {

std::vector<double> numbers(const std::string& option, const std::string& text) {
  std::vector<double> v;
  for (const auto& item : split_list(text)) {
    try {
      size_t used = 0;
      v.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw ConfigError("--" + option + ": '" + item + "' is not a number");
    }
  }
  return v;
}

template <class Table>
auto names(const std::string& option, const Table& table, const std::string& text) {
  std::vector<decltype(table.from_string(""))> v;
  for (const auto& item : split_list(text)) v.push_back(parse_choice(option.c_str(), table, item));
  if (v.empty()) throw ConfigError("--" + option + " lists nothing");
  return v;
}

std::string f3(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  prepare_process(argv);
  std::string val, test, manifest, out, models, config_dir, criteria, share_taus, lift_taus, excess_taus, quorums,
      fallbacks, votes, modes;
  double min_coverage = 0.9;
  BenchOptions bo;
  bool write = false, allow_untrained = false, no_figures = false;
  po::options_description opts(
      "ensemble-tune --val RUN [--test RUN] [--manifest M] [--min-coverage 0.9] [--out DIR] [--write]\n\n"
      "Replays the gate on a validation run's results for every setting of the grid (criterion, threshold,\n"
      "quorum, fallback, vote rule, gate mode), chooses one by the rule: the highest balanced accuracy with\n"
      "coverage >= --min-coverage; ties go to the higher coverage, then the lower threshold. Reports the choice\n"
      "on --test (ensemble-bench's tables, intervals, McNemar). --write records it as `gate:` in the models\n"
      "folder's manifest.yaml; ensemble-classify then uses it unless --gate/--tau/... are given.\n"
      "Writes tune.csv, tune.json and (with --test) bench.json, bench.csv, figures/, report.html to --out.\n"
      "Exit code: 0 done, 2 bad input or usage.\n\nOptions");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("val", po::value(&val)->required(), "the validation run (ensemble-classify output folder or results.jsonl)")
    ("test", po::value(&test), "the test run: the choice is reported on it")
    ("manifest", po::value(&manifest), "data set (manifest/CSV) with true labels and patient ids")
    ("min-coverage", po::value(&min_coverage)->default_value(min_coverage), "coverage floor of the rule, in [0, 1]")
    ("criteria", po::value(&criteria)->default_value("share,lift,excess"), "criteria to sweep")
    ("share-taus", po::value(&share_taus)->default_value("", "0,0.05,...,0.8"), "share thresholds")
    ("lift-taus", po::value(&lift_taus)->default_value("", "0,0.125,...,3"), "lift thresholds")
    ("excess-taus", po::value(&excess_taus)->default_value("", "0,0.05,...,0.8"), "excess thresholds")
    ("quorums", po::value(&quorums)->default_value("1,2,3,5"), "quorums to sweep")
    ("fallbacks", po::value(&fallbacks)->default_value("abstain,all,best"), "fallbacks to sweep")
    ("votes", po::value(&votes)->default_value("soft,hard,weighted"), "vote rules to sweep")
    ("modes", po::value(&modes)->default_value("hard,soft"), "gate modes to sweep (soft has no threshold)")
    ("out,o", po::value(&out), "output folder (default: <val run>/tune)")
    ("write", po::bool_switch(&write), "record the choice in the models folder's manifest.yaml")
    ("models,m", po::value(&models)->default_value("", "the task's models_dir"), "models folder for --write")
    ("bootstrap", po::value(&bo.bootstrap)->default_value(bo.bootstrap), "bootstrap draws over patients on --test")
    ("seed", po::value(&bo.seed)->default_value(bo.seed), "bootstrap seed")
    ("allow-untrained", po::bool_switch(&allow_untrained), "tune on runs whose members had random weights (outputs are marked; --write is refused)")
    ("no-figures", po::bool_switch(&no_figures), "skip the PNG figures")
    ("config-dir", po::value(&config_dir)->default_value("", "GRADGATE_CONFIG_DIR or the source tree's config/"), "configuration folder");
  // clang-format on
  try {
    po::variables_map vm;
    if (!parse_options(argc, argv, opts, vm, nullptr,
        "  ensemble-tune --val out/bench/pn-val/run --test out/bench/pn-test/run --manifest ../shared/data/cxr/manifest.csv --out out/tune\n"
        "  ensemble-tune ... --min-coverage 0.9 --write   # make the choice models/<task>'s default\n")) return 0;
    const auto t0 = std::chrono::steady_clock::now();
    if (!(min_coverage >= 0.0 && min_coverage <= 1.0)) throw ConfigError("--min-coverage must lie in [0, 1]");
    TuneGrid grid;
    grid.criteria = names("criteria", gate_criterion_names(), criteria);
    grid.share_taus = numbers("share-taus", share_taus);
    grid.lift_taus = numbers("lift-taus", lift_taus);
    grid.excess_taus = numbers("excess-taus", excess_taus);
    for (double t : grid.share_taus) checked_tau(GateCriterion::Share, t, "--share-taus");
    for (double t : grid.lift_taus) checked_tau(GateCriterion::Lift, t, "--lift-taus");
    for (double t : grid.excess_taus) checked_tau(GateCriterion::Excess, t, "--excess-taus");
    grid.quorums.clear();
    for (double q : numbers("quorums", quorums)) {
      if (q < 1 || q != static_cast<int>(q)) throw ConfigError("--quorums: each must be an integer >= 1");
      grid.quorums.push_back(static_cast<int>(q));
    }
    grid.fallbacks = names("fallbacks", gate_fallback_names(), fallbacks);
    grid.votes = names("votes", vote_rule_names(), votes);
    grid.modes = names("modes", gate_mode_names(), modes);

    const RunResults v = load_labelled_run(val, manifest, config_dir, allow_untrained);
    const fs::path out_dir = out.empty() ? v.dir / "tune" : fs::path(out);
    const TuneResult t = tune_gate(v, grid, min_coverage);
    write_tune_files(t, v, out_dir);
    const TuneRow& c = t.rows[t.chosen];
    const std::string warn = untrained_warning(v.run);
    if (!warn.empty()) std::cout << warn << "\n\n";
    std::cout << "validation " << v.results_file.string() << ": " << t.rows.size() << " settings; rule: " << t.rule()
              << "\n" << (t.met_floor ? "" : "NO setting reached the coverage floor: the highest coverage is chosen\n")
              << "chosen: " << c.setting.describe() << "  (val balanced accuracy " << f3(c.m.balanced_accuracy)
              << ", accuracy " << f3(c.m.accuracy) << ", coverage " << f3(c.m.coverage) << ", members kept "
              << f3(c.mean_kept) << ")\n";
    ReportPage page;
    page.tool = "tune";
    page.setting_from = "chosen on the validation run, below";
    page.extra_html = "<h2>Tuned on the validation run</h2><p>" + std::to_string(t.rows.size()) +
                        " settings replayed on <code>" + v.results_file.string() + "</code>; rule: " + t.rule() +
                        ". Chosen: <b>" + c.setting.describe() + "</b> (validation balanced accuracy " +
                        f3(c.m.balanced_accuracy) + ", coverage " + f3(c.m.coverage) +
                        "). Every setting: <a href=\"tune.csv\">tune.csv</a>, <a href=\"tune.json\">tune.json</a>. "
                        "The tables below are the test run at this setting.</p>\n";
    if (!test.empty()) {
      const RunResults te = load_labelled_run(test, manifest, config_dir, allow_untrained);
      if (te.run.members != v.run.members || te.run.task != v.run.task)
        throw Error(te.run.file.string() + ": task or members differ from the validation run's " + v.run.file.string());
      bo.setting = c.setting;
      const BenchResult b = run_bench(te, bo);
      std::cout << "\non the test run " << te.results_file.string() << ":\n" << bench_text(b);
      write_bench_files(b, out_dir);
      std::vector<FigureFile> figures;
      if (!no_figures) figures = write_bench_figures(b, te, out_dir);
      write_bench_html(b, figures, out_dir, page);
    }
    if (write) {
      if (!v.run.untrained.empty()) throw Error("--write refused: the validation run has untrained members");
      fs::path dir = models;
      if (dir.empty()) dir = load_task(v.run.task, resolve_config_dir(config_dir)).ensemble.models_dir;
      write_tuned_gate(dir, tuned_gate_of(t, v), v.run);
      std::cout << "\nrecorded in " << (dir / "manifest.yaml").string()
                << ": ensemble-classify --task " << v.run.task << " now gates with " << c.setting.describe()
                << " unless told otherwise\n";
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "\nwrote " << (out_dir / "tune.csv").string() << " and tune.json in " << seconds << " s\n";
    return 0;
  } catch (const po::error& e) {
    std::cerr << "ensemble-tune: " << e.what() << "\n(see ensemble-tune --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ensemble-tune: " << e.what() << "\n";
    return 2;
  }
}
