// ensemble-bench / ensemble-tune's core (evaluate.h, bench.h, tune.h): known-answer metrics
// (AUC, McNemar), the patient bootstrap, the replay of the gate from results the report
// writer wrote (so reader and writer are tested together), run.json over the task YAML, the
// tuner's choice on a synthetic run, --write's round trip and classify's gate precedence,
// non-UTF-8 names, and bad inputs naming file and line. No torch, no networks.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "gradgate/bench.h"
#include "gradgate/classify.h"
#include "gradgate/common/strings.h"
#include "gradgate/error.h"
#include "gradgate/evaluate.h"
#include "gradgate/report.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/tune.h"
#include "test_util.h"

using namespace gradgate;
using gradgate::testing::slurp;
using gradgate::testing::TempDir;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kClasses = {"normal", "pneumonia"};

// One synthetic image: per member (probability of class 1, in-lung share, status).
struct FakeMember {
  double p1;
  double share;
  GateStatus status = GateStatus::Ok;
};
struct FakeImage {
  std::string path;
  int truth;
  std::vector<FakeMember> members;
};

// The outcome the ensemble would have produced under `info`'s gate: gate_decide + vote_gated,
// written through the real ResultWriter/ReportWriter.
ImageOutcome outcome_of(const FakeImage& f, const RunInfo& info) {
  ImageOutcome o;
  o.image = f.path;
  o.ok = true;
  o.truth = f.truth >= 0 ? kClasses[f.truth] : "";
  std::vector<LungShare> shares;
  std::vector<std::vector<double>> probs;
  for (size_t j = 0; j < f.members.size(); ++j) {
    MemberOutcome m;
    m.name = info.members[j];
    m.probs = {1.0 - f.members[j].p1, f.members[j].p1};
    m.label = f.members[j].p1 > 0.5 ? 1 : 0;
    m.probability = m.probs[m.label];
    const double fr = 0.3;
    m.share.status = f.members[j].status;
    m.share.mask_fraction = fr;
    if (m.share.status == GateStatus::Ok) {
      m.share.share = f.members[j].share;
      m.share.lift = f.members[j].share / fr;
      m.share.excess = (f.members[j].share - fr) / (1 - fr);
    }
    shares.push_back(m.share);
    probs.push_back(m.probs);
    o.members.push_back(m);
  }
  o.gate = gate_decide(shares, info.gate);
  o.vote = vote_gated(probs, o.gate, info.vote);
  for (size_t j = 0; j < o.members.size(); ++j) {
    o.members[j].passed = o.gate.passed[j];
    o.members[j].kept = o.gate.kept[j];
  }
  return o;
}

RunInfo info_of(size_t members, double tau = 0.5, int quorum = 1) {
  RunInfo r;
  r.task = "pneumonia";
  r.classes = kClasses;
  const std::vector<std::string> names = {"alexnet", "resnet18", "googlenet", "vgg16", "darknet19"};
  r.members.assign(names.begin(), names.begin() + members);
  r.preset = "compact";
  r.gate.tau = tau;
  r.gate.quorum = quorum;
  return r;
}

fs::path write_run(const fs::path& dir, const RunInfo& info, const std::vector<FakeImage>& images) {
  ReportOptions o;
  o.out_dir = dir;
  o.overlays = o.montage = false;
  ReportWriter w(o, info);
  for (const auto& f : images) w.add(outcome_of(f, info));
  w.finish();
  return dir;
}

// A run where members 0-1 look at the lungs (share 0.7) and are right, members 2-3 look
// elsewhere (share 0.1) and are wrong on 40 of 100 images; one member has an empty map.
std::vector<FakeImage> informative_images(int n = 100, uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<FakeImage> v;
  for (int i = 0; i < n; ++i) {
    FakeImage f;
    f.path = "/data/img" + std::to_string(i) + ".png";
    f.truth = i % 2;
    const double right = f.truth == 1 ? 0.8 : 0.2, wrong = 1.0 - right;
    const bool trap = i % 5 < 2;  // 40%: the outside-looking members are wrong, and sure of it
    const double sure_wrong = f.truth == 1 ? 0.05 : 0.95;
    f.members.push_back({right + (u(rng) - 0.5) * 0.1, 0.7});
    f.members.push_back({i % 10 == 3 ? wrong : right, 0.65});
    f.members.push_back({trap ? sure_wrong : right, 0.1});
    f.members.push_back({trap ? sure_wrong : right, 0.12, i % 7 == 0 ? GateStatus::EmptyMap : GateStatus::Ok});
    v.push_back(f);
  }
  return v;
}

}  // namespace

// ---- metrics, known answers ----

TEST(EvaluateMetrics, AucOfAHandExample) {
  // Positives 0.8, 0.4 (tie with a negative), 0.9; negatives 0.1, 0.4, 0.7.
  // Pairs (p > n): 0.8 beats 0.1,0.4,0.7 (3); 0.4 beats 0.1 (1) ties 0.4 (1/2); 0.9 beats all (3).
  // AUC = 7.5 / 9.
  const std::vector<double> s = {0.8, 0.4, 0.9, 0.1, 0.4, 0.7};
  const std::vector<char> pos = {1, 1, 1, 0, 0, 0};
  EXPECT_NEAR(auc(s, pos), 7.5 / 9.0, 1e-12);
  // Weights count images twice: doubling the 0.4 positive adds 2 + 1 + ... of 12 pairs.
  EXPECT_NEAR(auc(s, pos, {1, 2, 1, 1, 1, 1}), (3 + 2 * 1.5 + 3) / 12.0, 1e-12);
  EXPECT_TRUE(std::isnan(auc({0.1, 0.2}, {1, 1})));
  const auto roc = roc_curve(s, pos);
  EXPECT_EQ(roc.front().fpr, 0.0);
  EXPECT_NEAR(roc.back().tpr, 1.0, 1e-12);
  EXPECT_NEAR(roc.back().fpr, 1.0, 1e-12);
}

TEST(EvaluateMetrics, ConfusionSensitivitySpecificityPpv) {
  // truth: 0 0 0 1 1 1 1 (and one unlabelled); pred: 0 1 -1 1 1 0 1 (one abstained).
  const std::vector<int> truth = {0, 0, 0, 1, 1, 1, 1, -1};
  const std::vector<int> pred = {0, 1, -1, 1, 1, 0, 1, 1};
  std::vector<std::vector<double>> probs = {{.9, .1}, {.4, .6}, {}, {.2, .8}, {.3, .7}, {.6, .4}, {.1, .9}, {.5, .5}};
  const Metrics m = compute_metrics(truth, pred, probs, 2);
  EXPECT_EQ(m.n, 7u);
  EXPECT_EQ(m.answered, 6u);
  EXPECT_NEAR(m.coverage, 6.0 / 7.0, 1e-12);
  EXPECT_NEAR(m.accuracy, 4.0 / 6.0, 1e-12);
  EXPECT_EQ(m.confusion[0][0], 1);
  EXPECT_EQ(m.confusion[0][1], 1);
  EXPECT_EQ(m.confusion[1][0], 1);
  EXPECT_EQ(m.confusion[1][1], 3);
  EXPECT_NEAR(m.sensitivity[1], 0.75, 1e-12);
  EXPECT_NEAR(m.specificity[1], 0.5, 1e-12);
  EXPECT_NEAR(m.ppv[1], 0.75, 1e-12);
  EXPECT_NEAR(m.balanced_accuracy, (0.5 + 0.75) / 2, 1e-12);
  // AUC of class 1's probability on the answered: positives .8 .7 .4 .9, negatives .1 .6:
  // .8, .7, .9 beat both (6), .4 beats .1 (1) -> 7/8.
  EXPECT_NEAR(m.auc, 7.0 / 8.0, 1e-12);
}

TEST(EvaluateMetrics, McNemarOnAHandTable) {
  // b = 1, c = 9: P[X <= 1], X ~ Bin(10, 1/2) = 11/1024; exact two-sided 22/1024;
  // mid-p = 22/1024 - 10/1024 = 12/1024.
  const McNemar t = mcnemar(1, 9);
  EXPECT_NEAR(t.p_exact, 22.0 / 1024.0, 1e-12);
  EXPECT_NEAR(t.p_mid, 12.0 / 1024.0, 1e-12);
  EXPECT_EQ(mcnemar(9, 1).p_exact, t.p_exact);  // symmetric
  EXPECT_EQ(mcnemar(0, 0).p_exact, 1.0);
  EXPECT_EQ(mcnemar(5, 5).p_exact, 1.0);  // capped at 1
  EXPECT_LT(mcnemar(0, 40).p_exact, 1e-10);  // large n stays finite (logs)
}

TEST(EvaluateMetrics, BootstrapIsDeterministicPerSeedAndCovers) {
  // 200 patients with 2 images each; accuracy 0.8 by construction.
  std::vector<std::string> patients;
  std::vector<int> truth, pred;
  std::vector<std::vector<double>> probs;
  for (int i = 0; i < 400; ++i) {
    patients.push_back("p" + std::to_string(i / 2));
    truth.push_back(i % 2);
    pred.push_back((i / 2) % 5 == 0 ? 1 - i % 2 : i % 2);
    probs.push_back({});
  }
  const PatientBootstrap a(patients, 500, 42), b(patients, 500, 42), c(patients, 500, 43);
  EXPECT_EQ(a.patients(), 200u);
  EXPECT_EQ(a.weights(17), b.weights(17));
  EXPECT_NE(a.weights(17), c.weights(17));
  // A patient's two images are drawn together.
  for (int r = 0; r < 20; ++r)
    for (int i = 0; i < 400; i += 2) ASSERT_EQ(a.weights(r)[i], a.weights(r)[i + 1]);
  std::vector<double> acc;
  for (int r = 0; r < a.reps(); ++r) acc.push_back(compute_metrics(truth, pred, probs, 2, a.weights(r)).accuracy);
  const Interval ci = PatientBootstrap::percentile_interval(acc);
  EXPECT_LT(ci.lo, 0.8);
  EXPECT_GT(ci.hi, 0.8);
  EXPECT_GT(ci.lo, 0.7);   // about +-0.055 at n = 200 patients
  EXPECT_LT(ci.hi, 0.9);
  const Interval again = PatientBootstrap::percentile_interval(acc);
  EXPECT_EQ(ci.lo, again.lo);
}

// ---- the run read back, the replay ----

TEST(EvaluateReplay, TauZeroShareIsThePlainVoteEmptyMapsIncluded) {
  TempDir tmp;
  const auto images = informative_images();
  const RunInfo info = info_of(4, 0.5, 1);
  const RunResults r = load_run_results(write_run(tmp / "run", info, images));
  ASSERT_EQ(r.rows.size(), images.size());
  GateSetting zero = run_setting(r.run);
  zero.gate.tau = 0.0;
  GateSetting plain = zero;
  plain.plain = true;
  const Decisions dz = replay(r, zero), dp = replay(r, plain);
  EXPECT_EQ(dz.label, dp.label);
  // With the gate's own rule (gate_decide at tau 0), the empty-map member would be left out:
  // some image must show it, or the test proves nothing.
  size_t empty_maps = 0;
  for (const auto& row : r.rows) empty_maps += row.members[3].share.status == GateStatus::EmptyMap;
  EXPECT_GT(empty_maps, 0u);
  for (size_t i = 0; i < r.rows.size(); ++i) EXPECT_EQ(dz.kept[i], 4) << i;
  // And the plain vote is what results.jsonl's "plain" says on every row.
  const std::string jsonl = slurp(tmp / "run" / "results.jsonl");
  EXPECT_NE(jsonl.find("\"plain\": {\"label\": "), std::string::npos);
}

TEST(EvaluateReplay, RunJsonSettingsAreUsedNotTheTaskYaml) {
  TempDir tmp;
  // The pneumonia task's YAML says share >= 0.5, quorum 3; this run used share >= 0.3, quorum 2,
  // fallback all, hard vote.
  RunInfo info = info_of(4, 0.3, 2);
  info.gate.fallback = GateFallback::All;
  info.vote = VoteRule::Hard;
  const RunResults r = load_run_results(write_run(tmp / "run", info, informative_images()));
  EXPECT_DOUBLE_EQ(r.run.gate.tau, 0.3);
  EXPECT_EQ(r.run.gate.quorum, 2);
  EXPECT_EQ(r.run.gate.fallback, GateFallback::All);
  EXPECT_EQ(r.run.vote, VoteRule::Hard);
  // The replay at the run's setting reproduces every decision the run wrote.
  EXPECT_EQ(replay_mismatches(r, replay(r, run_setting(r.run))), 0u);
  // ... and the task's setting would not (else this test could not fail).
  GateSetting yaml;
  yaml.gate.tau = 0.5;
  yaml.gate.quorum = 3;
  EXPECT_GT(replay_mismatches(r, replay(r, yaml)), 0u);
  // The bench's gated row uses the run's setting.
  BenchOptions bo;
  bo.bootstrap = 0;
  const BenchResult b = run_bench(r, bo);
  EXPECT_DOUBLE_EQ(b.setting.gate.tau, 0.3);
  EXPECT_EQ(b.setting.vote, VoteRule::Hard);
  EXPECT_EQ(b.replay_mismatches, 0u);
}

TEST(EvaluateBench, GatedBeatsPlainOnAnInformativeRunWithIntervals) {
  TempDir tmp;
  const RunResults r = load_run_results(write_run(tmp / "run", info_of(4, 0.5, 1), informative_images(200)));
  BenchOptions bo;
  bo.bootstrap = 200;
  const BenchResult b = run_bench(r, bo);
  EXPECT_EQ(b.labelled, 200u);
  EXPECT_EQ(b.patients, 200u);  // no data set: each image its own patient
  EXPECT_NEAR(b.gated.m.coverage, 1.0, 1e-12);
  EXPECT_GT(b.gated.m.accuracy, b.plain.m.accuracy);
  EXPECT_GT(b.paired.c, b.paired.b);
  EXPECT_LT(b.paired.p_exact, 0.01);
  EXPECT_LE(b.gated.accuracy.lo, b.gated.m.accuracy);
  EXPECT_GE(b.gated.accuracy.hi, b.gated.m.accuracy);
  EXPECT_GT(b.accuracy_gain_ci.lo, 0.0);
  EXPECT_GT(b.kept_vote_accuracy, b.dropped_vote_accuracy);
  EXPECT_NEAR(b.member_gate[2].drop_rate, 1.0, 1e-12);
  EXPECT_NEAR(b.member_gate[0].median, 0.7, 1e-6);
  // Outputs: JSON, CSV, figures, HTML; the same seed gives the same bench.json.
  write_bench_files(b, tmp / "bench");
  const auto figures = write_bench_figures(b, r, tmp / "bench");
  write_bench_html(b, figures, tmp / "bench");
  EXPECT_GE(figures.size(), 5u);
  for (const auto& f : figures) EXPECT_TRUE(fs::exists(tmp / "bench" / f.file)) << f.file;
  const std::string html = slurp(tmp / "bench" / "report.html");
  EXPECT_NE(html.find("src=\"figures/roc.png\""), std::string::npos);
  EXPECT_NE(html.find("<title>gradgate bench: "), std::string::npos);
  EXPECT_NE(html.find("(from run.json)"), std::string::npos);
  // ensemble-tune's page names itself and where its setting came from.
  ReportPage tune_page;
  tune_page.tool = "tune";
  tune_page.setting_from = "chosen on the validation run";
  tune_page.extra_html = "<h2>Tuned</h2>";
  write_bench_html(b, figures, tmp / "tune", tune_page);
  const std::string tune_html = slurp(tmp / "tune" / "report.html");
  EXPECT_NE(tune_html.find("<title>gradgate tune: "), std::string::npos);
  EXPECT_NE(tune_html.find("(chosen on the validation run)"), std::string::npos);
  EXPECT_EQ(tune_html.find("from run.json"), std::string::npos);
  EXPECT_NE(tune_html.find("<h2>Tuned</h2>"), std::string::npos);
  EXPECT_EQ(html.find("WARNING"), std::string::npos);
  const std::string json1 = slurp(tmp / "bench" / "bench.json");
  write_bench_files(run_bench(r, bo), tmp / "bench2");
  EXPECT_EQ(json1, slurp(tmp / "bench2" / "bench.json"));
  EXPECT_NE(slurp(tmp / "bench" / "bench.csv").find("\nplain,plain,200,200,"), std::string::npos);
}

TEST(EvaluateBench, UntrainedRunsAreRefusedThenMarked) {
  TempDir tmp;
  RunInfo info = info_of(4);
  info.untrained = {"alexnet"};
  write_run(tmp / "run", info, informative_images(20));
  try {
    load_labelled_run(tmp / "run", {}, {}, false);
    FAIL() << "an untrained run was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("random weights"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("run.json"), std::string::npos) << e.what();
  }
  const RunResults r = load_labelled_run(tmp / "run", {}, {}, true);
  BenchOptions bo;
  bo.bootstrap = 0;
  const BenchResult b = run_bench(r, bo);
  EXPECT_NE(bench_text(b).find("WARNING: UNTRAINED MEMBERS"), std::string::npos);
  write_bench_files(b, tmp / "bench");
  write_bench_html(b, {}, tmp / "bench");
  EXPECT_NE(slurp(tmp / "bench" / "bench.json").find("\"warning\": \"WARNING: UNTRAINED"), std::string::npos);
  EXPECT_NE(slurp(tmp / "bench" / "bench.csv").find(",true\n"), std::string::npos);
  EXPECT_NE(slurp(tmp / "bench" / "report.html").find("class=\"warn\""), std::string::npos);
}

// ---- the tuner ----

TEST(EvaluateTune, PicksTheKnownBestSetting) {
  TempDir tmp;
  // Written at share >= 0 (the plain vote); the informative members have share >= 0.65 and the
  // others <= 0.12, so any share threshold in (0.12, 0.65] keeps exactly the right ones.
  const RunResults r = load_run_results(write_run(tmp / "run", info_of(4, 0.0, 1), informative_images(200)));
  TuneGrid g;
  g.criteria = {GateCriterion::Share};
  g.share_taus = {0.0, 0.3, 0.5, 0.8};
  g.quorums = {1, 2, 3};
  g.fallbacks = {GateFallback::Abstain};
  g.votes = {VoteRule::Soft};
  g.modes = {GateMode::Hard};
  const TuneResult t = tune_gate(r, g, 0.9);
  ASSERT_EQ(t.rows.size(), 12u);
  const TuneRow& c = t.rows[t.chosen];
  EXPECT_TRUE(t.met_floor);
  // Best: tau 0.3 (lowest of the equal 0.3/0.5), quorum 1 or 2 with full coverage.
  EXPECT_DOUBLE_EQ(c.setting.gate.tau, 0.3) << c.setting.describe();
  EXPECT_LE(c.setting.gate.quorum, 2);
  EXPECT_NEAR(c.m.coverage, 1.0, 1e-12);
  for (const auto& row : t.rows)
    if (row.m.coverage >= 0.9) EXPECT_LE(row.m.balanced_accuracy, c.m.balanced_accuracy + 1e-12);
  // A floor nothing reaches: the highest coverage wins, and says so.
  g.share_taus = {0.8};
  const TuneResult none = tune_gate(r, g, 0.9);
  EXPECT_FALSE(none.met_floor);
  write_tune_files(t, r, tmp / "tune");
  EXPECT_NE(slurp(tmp / "tune" / "tune.csv").find(",true\n"), std::string::npos);
}

TEST(EvaluateTune, WriteRoundTripsAndClassifyTakesItUnderTheCli) {
  TempDir tmp;
  // A models folder with a manifest (weights need not exist for this).
  ModelsManifest m;
  m.task = "pneumonia";
  m.classes = kClasses;
  for (const char* name : {"alexnet", "resnet18", "googlenet", "vgg16"}) {
    ModelEntry e;
    e.name = name;
    e.preset = "compact";
    e.input_side = 64;
    e.file = tmp / "models" / (std::string(name) + ".pt");
    m.members.push_back(e);
  }
  fs::create_directories(tmp / "models");
  save_models_manifest(m, tmp / "models");
  const RunResults r = load_run_results(write_run(tmp / "run", info_of(4, 0.0, 1), informative_images(60)));
  TuneGrid g;
  g.criteria = {GateCriterion::Lift};
  g.lift_taus = {1.5, 2.5};  // lifts: members 0-1 2.3 and 2.2, members 2-3 0.3 and 0.4
  g.quorums = {2};
  g.fallbacks = {GateFallback::All};
  // Hard: at lift 2.5 nobody passes and the fallback lets all four vote (2 right, 2 wrong on
  // the traps); at 1.5 the two lung-looking members vote. (A weighted vote would weigh the
  // four by share and be right at 2.5 too.)
  g.votes = {VoteRule::Hard};
  g.modes = {GateMode::Hard};
  const TuneResult t = tune_gate(r, g, 0.5);
  write_tuned_gate(tmp / "models", tuned_gate_of(t, r), r.run);
  const ModelsManifest back = load_models_manifest(tmp / "models", WeightFiles::may_be_missing);
  ASSERT_TRUE(back.gate.has_value());
  EXPECT_EQ(back.gate->gate.criterion, GateCriterion::Lift);
  EXPECT_DOUBLE_EQ(back.gate->gate.tau, t.rows[t.chosen].setting.gate.tau);
  EXPECT_EQ(back.gate->gate.quorum, 2);
  EXPECT_EQ(back.gate->gate.fallback, GateFallback::All);
  EXPECT_EQ(back.gate->vote, VoteRule::Hard);
  EXPECT_NE(back.gate->tuned_on.find("results.jsonl"), std::string::npos);
  EXPECT_EQ(back.members.size(), 4u);

  // Precedence: CLI > tuned > task.
  GateOptions task_gate;  // share >= 0.5, quorum 1, abstain
  task_gate.quorum = 3;
  ClassifyRequest none;
  ResolvedGate g0 = resolve_gate(none, task_gate, VoteRule::Soft, std::nullopt, 4);
  EXPECT_EQ(g0.gate.criterion, GateCriterion::Share);
  EXPECT_EQ(g0.source, "task");
  ResolvedGate g1 = resolve_gate(none, task_gate, VoteRule::Soft, back.gate, 4);
  EXPECT_EQ(g1.gate.criterion, GateCriterion::Lift);
  EXPECT_EQ(g1.vote, VoteRule::Hard);
  EXPECT_EQ(g1.gate.quorum, 2);
  EXPECT_NE(g1.source.find("tuned"), std::string::npos);
  ClassifyRequest cli;
  cli.tau = 1.1;
  cli.vote = VoteRule::Soft;
  ResolvedGate g2 = resolve_gate(cli, task_gate, VoteRule::Soft, back.gate, 4);
  EXPECT_EQ(g2.gate.criterion, GateCriterion::Lift);  // tuned, not given
  EXPECT_DOUBLE_EQ(g2.gate.tau, 1.1);                 // given
  EXPECT_EQ(g2.vote, VoteRule::Soft);                 // given
  EXPECT_EQ(g2.gate.fallback, GateFallback::All);     // tuned
  // --gate share without --tau: the tuned lift tau (e.g. 1.5) is no share: an error naming it.
  ClassifyRequest crit;
  crit.criterion = GateCriterion::Share;
  EXPECT_DOUBLE_EQ(back.gate->gate.tau, 1.5);
  EXPECT_THROW(resolve_gate(crit, task_gate, VoteRule::Soft, back.gate, 4), ConfigError);

  // A bad gate block is refused naming the key.
  std::string text = slurp(tmp / "models" / "manifest.yaml");
  const auto at = text.find("criterion: lift");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 15, "criterion: lungs");
  std::ofstream(tmp / "models" / "manifest.yaml") << text;
  try {
    load_models_manifest(tmp / "models", WeightFiles::may_be_missing);
    FAIL() << "an unknown criterion was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("gate.criterion"), std::string::npos) << e.what();
  }
}

// ---- non-UTF-8 names ----

TEST(EvaluateNames, NonUtf8FileNamesAreEscapedReversiblyInCsvAndJsonl) {
  const std::string raw = "/data/bad\xff\xfe name\\x.png";
  const std::string esc = escape_path_bytes(raw);
  EXPECT_EQ(esc, "/data/bad\\xff\\xfe name\\x5cx.png");
  EXPECT_EQ(unescape_path_bytes(esc), raw);
  EXPECT_EQ(escape_path_bytes("caf\xc3\xa9.png"), "caf\xc3\xa9.png");  // valid UTF-8 kept
  EXPECT_EQ(utf8_or_escaped("a\xc3(b"), "a\\xc3(b");

  TempDir tmp;
  std::vector<FakeImage> images = informative_images(3);
  images[1].path = raw;
  write_run(tmp / "run", info_of(4), images);
  const std::string csv = slurp(tmp / "run" / "results.csv");
  const std::string jsonl = slurp(tmp / "run" / "results.jsonl");
  for (const std::string* s : {&csv, &jsonl})
    for (size_t i = 0; i < s->size();) {
      const size_t n = utf8_sequence_length(*s, i);
      ASSERT_GT(n, 0u) << "invalid UTF-8 at byte " << i;
      i += n;
    }
  EXPECT_NE(csv.find("/data/bad\\xff\\xfe name\\x5cx.png"), std::string::npos);
  EXPECT_NE(jsonl.find("/data/bad\\\\xff\\\\xfe name\\\\x5cx.png"), std::string::npos);
  // Read back: the raw bytes again.
  const RunResults r = load_run_results(tmp / "run");
  EXPECT_EQ(r.rows[1].image, raw);
  // The true label and the plain vote are on the rows.
  EXPECT_NE(csv.find(",true_label,label,probability,"), std::string::npos);
  EXPECT_NE(csv.find(",plain_label,plain_probability,"), std::string::npos);
  EXPECT_EQ(r.rows[0].truth, 0);
  EXPECT_EQ(r.rows[1].truth, 1);
}

// ---- bad input ----

TEST(EvaluateErrors, MissingCorruptAndMismatchedRunsNameFileAndLine) {
  TempDir tmp;
  const auto expect_error = [](const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
      f();
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  };
  expect_error([&] { load_run_results(tmp / "nothing"); }, {"nothing", "not found"});

  write_run(tmp / "run", info_of(4), informative_images(5));
  const fs::path jsonl = tmp / "run" / "results.jsonl";
  const std::string good = slurp(jsonl);
  // Line 3 cut short.
  std::string bad = good;
  size_t line3 = 0;
  for (int k = 0; k < 2; ++k) line3 = bad.find('\n', line3) + 1;
  bad.insert(line3, "{\"image\": \"x\", \"stat\n");
  std::ofstream(jsonl) << bad;
  expect_error([&] { load_run_results(tmp / "run"); }, {"results.jsonl:3", "not a JSON object"});

  // run.json from another run: 3 members where the rows have 4.
  std::ofstream(jsonl) << good;
  std::string run_json = slurp(tmp / "run" / "run.json");
  const std::string with_four = "\"members\": [\"alexnet\", \"resnet18\", \"googlenet\", \"vgg16\"]";
  const auto at = run_json.find(with_four);
  ASSERT_NE(at, std::string::npos);
  std::string three = run_json;
  three.replace(at, with_four.size(), "\"members\": [\"alexnet\", \"resnet18\", \"googlenet\"]");
  std::ofstream(tmp / "run" / "run.json") << three;
  expect_error([&] { load_run_results(tmp / "run"); }, {"results.jsonl:1", "different runs"});

  // An unknown criterion in run.json.
  std::string crit = run_json;
  crit.replace(crit.find("\"gate\": \"share\""), 15, "\"gate\": \"lungs\"");
  std::ofstream(tmp / "run" / "run.json") << crit;
  expect_error([&] { load_run_results(tmp / "run"); }, {"run.json", "\"gate\"", "lungs"});

  // An unfinished run.
  std::ofstream(tmp / "run" / "run.json") << run_json;
  fs::rename(jsonl, tmp / "run" / "results.jsonl.part");
  expect_error([&] { load_run_results(tmp / "run"); }, {"did not finish"});
}
