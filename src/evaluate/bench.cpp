// run_bench: every figure of ensemble-bench from one run's rows, replayed (replay.cpp) and
// scored (metrics.cpp), with intervals from one set of patient draws (bootstrap.cpp) shared
// by all rows, so paired differences use the same draws on both sides.
#include <algorithm>
#include <cmath>
#include <functional>

#include "gradgate/bench.h"
#include "gradgate/common/quantile.h"
#include "gradgate/error.h"

namespace gradgate {

namespace {

const double kNaN = std::nan("");

struct Labelled {
  std::vector<size_t> rows;  // indices into RunResults::rows with a true label
  std::vector<int> truth;
  std::vector<std::string> patients;
};

Labelled labelled_rows(const RunResults& r) {
  Labelled l;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    if (r.rows[i].truth < 0) continue;
    l.rows.push_back(i);
    l.truth.push_back(r.rows[i].truth);
    l.patients.push_back(r.rows[i].patient);
  }
  return l;
}

// Predictions and probabilities of `d` on the labelled rows.
void pick(const Decisions& d, const Labelled& l, std::vector<int>* pred, std::vector<std::vector<double>>* probs) {
  pred->clear();
  probs->clear();
  for (size_t i : l.rows) {
    pred->push_back(d.label[i]);
    probs->push_back(d.probs[i]);
  }
}

Scored score(const std::string& name, const std::string& kind, const std::vector<int>& truth,
             const std::vector<int>& pred, const std::vector<std::vector<double>>& probs, int K,
             const PatientBootstrap* boot) {
  Scored s;
  s.name = name;
  s.kind = kind;
  s.m = compute_metrics(truth, pred, probs, K);
  s.accuracy = s.balanced_accuracy = s.auc = s.coverage = {kNaN, kNaN};
  if (!boot || boot->reps() == 0) return s;
  std::vector<double> acc, bacc, au, cov;
  for (int r = 0; r < boot->reps(); ++r) {
    const Metrics m = compute_metrics(truth, pred, probs, K, boot->weights(r));
    acc.push_back(m.accuracy);
    bacc.push_back(m.balanced_accuracy);
    au.push_back(m.auc);
    cov.push_back(m.coverage);
  }
  s.accuracy = PatientBootstrap::percentile_interval(acc);
  s.balanced_accuracy = PatientBootstrap::percentile_interval(bacc);
  s.auc = PatientBootstrap::percentile_interval(au);
  s.coverage = PatientBootstrap::percentile_interval(cov);
  return s;
}

}  // namespace

std::vector<double> curve_grid(GateCriterion c) {
  std::vector<double> g;
  if (c == GateCriterion::Lift)
    for (int i = 0; i <= 24; ++i) g.push_back(i * 0.125);
  else
    for (int i = 0; i <= 16; ++i) g.push_back(i * 0.05);
  return g;
}

BenchResult run_bench(const RunResults& results, const BenchOptions& o) {
  BenchResult b;
  b.run_dir = results.dir;
  b.results_file = results.results_file;
  b.run = results.run;
  b.setting = o.setting ? *o.setting : run_setting(results.run);
  b.images = results.rows.size();
  b.error_rows = results.error_rows;
  b.bootstrap = o.bootstrap;
  b.seed = o.seed;
  const Labelled l = labelled_rows(results);
  b.labelled = l.rows.size();
  if (l.rows.empty())
    throw Error(results.results_file.string() + ": no image has a true label (run ensemble-classify on a "
                "manifest/CSV, or give ensemble-bench --manifest)");
  const int K = static_cast<int>(results.run.classes.size());
  const PatientBootstrap boot(l.patients, o.bootstrap, o.seed);
  b.patients = boot.patients();
  b.truth = l.truth;

  // Each member alone.
  const size_t M = results.run.members.size();
  b.member_probs.assign(M, {});
  for (size_t j = 0; j < M; ++j) {
    std::vector<int> pred;
    std::vector<std::vector<double>> probs;
    for (size_t i : l.rows) {
      pred.push_back(results.rows[i].members[j].label);
      probs.push_back(results.rows[i].members[j].probs);
    }
    b.members.push_back(score(results.run.members[j], "member", l.truth, pred, probs, K, &boot));
    b.member_probs[j] = probs;
  }

  // The plain and the gated ensemble.
  GateSetting plain_setting = b.setting;
  plain_setting.plain = true;
  const Decisions plain = replay(results, plain_setting);
  const Decisions gated = replay(results, b.setting);
  GateSetting as_run = run_setting(results.run);
  as_run.faithful = true;
  b.replay_mismatches = replay_mismatches(results, replay(results, as_run));
  std::vector<int> plain_pred, gated_pred;
  pick(plain, l, &plain_pred, &b.plain_probs);
  pick(gated, l, &gated_pred, &b.gated_probs);
  b.plain = score("plain", "plain", l.truth, plain_pred, b.plain_probs, K, &boot);
  b.gated = score("gated", "gated", l.truth, gated_pred, b.gated_probs, K, &boot);
  // The plain vote where the gated one answered: the fair comparison of the two.
  std::vector<int> plain_same(plain_pred);
  for (size_t a = 0; a < plain_same.size(); ++a)
    if (gated_pred[a] < 0) plain_same[a] = -1;
  b.plain_same = score("plain on gated's images", "plain_same", l.truth, plain_same, b.plain_probs, K, &boot);

  // The paired test and the gain's interval on the same draws.
  int64_t pb = 0, pc = 0;
  for (size_t a = 0; a < gated_pred.size(); ++a) {
    if (gated_pred[a] < 0) continue;
    const bool p_right = plain_pred[a] == l.truth[a], g_right = gated_pred[a] == l.truth[a];
    if (p_right && !g_right) ++pb;
    if (!p_right && g_right) ++pc;
  }
  b.paired = mcnemar(pb, pc);
  b.accuracy_gain = b.gated.m.accuracy - b.plain_same.m.accuracy;
  std::vector<double> gains;
  for (int r = 0; r < boot.reps(); ++r) {
    double n = 0, g = 0, p = 0;
    for (size_t a = 0; a < gated_pred.size(); ++a) {
      const int w = boot.weights(r)[a];
      if (gated_pred[a] < 0 || w == 0) continue;
      n += w;
      g += w * (gated_pred[a] == l.truth[a]);
      p += w * (plain_pred[a] == l.truth[a]);
    }
    gains.push_back(n > 0 ? (g - p) / n : kNaN);
  }
  b.accuracy_gain_ci = boot.reps() > 0 ? PatientBootstrap::percentile_interval(gains) : Interval{kNaN, kNaN};

  // Members kept per image, kept against dropped votes, each member's shares and drops.
  b.kept_histogram.assign(M + 1, 0);
  double kept_sum = 0;
  size_t answered = 0, kept_right = 0, dropped_right = 0;
  for (size_t a = 0; a < l.rows.size(); ++a) {
    const size_t i = l.rows[a];
    if (gated.label[i] >= 0) {
      ++b.kept_histogram[gated.kept[i]];
      kept_sum += gated.kept[i];
      ++answered;
    }
    for (size_t j = 0; j < M; ++j) {
      const bool right = results.rows[i].members[j].label == l.truth[a];
      if (gated.member_kept[i][j]) {
        ++b.kept_votes;
        kept_right += right;
      } else {
        ++b.dropped_votes;
        dropped_right += right;
      }
    }
  }
  b.mean_kept = answered ? kept_sum / answered : kNaN;
  b.kept_vote_accuracy = b.kept_votes ? static_cast<double>(kept_right) / b.kept_votes : kNaN;
  b.dropped_vote_accuracy = b.dropped_votes ? static_cast<double>(dropped_right) / b.dropped_votes : kNaN;
  for (size_t j = 0; j < M; ++j) {
    MemberGateStats s;
    s.name = results.run.members[j];
    size_t dropped = 0, kr = 0, kn = 0, dr = 0, dn = 0;
    for (size_t a = 0; a < l.rows.size(); ++a) {
      const size_t i = l.rows[a];
      const auto& ms = results.rows[i].members[j];
      if (ms.share.status == GateStatus::Ok) s.shares.push_back(ms.share.share);
      const bool right = ms.label == l.truth[a];
      if (gated.member_kept[i][j]) {
        ++kn;
        kr += right;
      } else {
        ++dropped;
        ++dn;
        dr += right;
      }
    }
    std::vector<double> sorted = s.shares;
    std::sort(sorted.begin(), sorted.end());
    s.judged = sorted.size();
    double sum = 0;
    for (double v : sorted) sum += v;
    s.mean = sorted.empty() ? kNaN : sum / sorted.size();
    s.min = sorted_quantile(sorted, 0);
    s.q1 = sorted_quantile(sorted, 0.25);
    s.median = sorted_quantile(sorted, 0.5);
    s.q3 = sorted_quantile(sorted, 0.75);
    s.max = sorted_quantile(sorted, 1);
    s.drop_rate = static_cast<double>(dropped) / l.rows.size();
    s.accuracy_kept = kn ? static_cast<double>(kr) / kn : kNaN;
    s.accuracy_dropped = dn ? static_cast<double>(dr) / dn : kNaN;
    b.member_gate.push_back(std::move(s));
  }

  // Accuracy, coverage and members kept along the threshold of the setting's criterion.
  const auto taus = o.curve_taus.empty() ? curve_grid(b.setting.gate.criterion) : o.curve_taus;
  for (double tau : taus) {
    GateSetting s = b.setting;
    s.plain = false;
    s.gate.mode = GateMode::Hard;
    s.gate.tau = tau;
    try {
      checked_tau(s.gate.criterion, tau);
    } catch (const ConfigError&) {
      continue;
    }
    const Decisions d = replay(results, s);
    std::vector<int> pred, same;
    std::vector<std::vector<double>> probs;
    pick(d, l, &pred, &probs);
    same = plain_pred;
    double kept = 0;
    size_t ans = 0;
    for (size_t a = 0; a < pred.size(); ++a) {
      if (pred[a] < 0) {
        same[a] = -1;
        continue;
      }
      kept += d.kept[l.rows[a]];
      ++ans;
    }
    const Metrics m = compute_metrics(l.truth, pred, probs, K);
    const Metrics ps = compute_metrics(l.truth, same, b.plain_probs, K);
    b.curve.push_back({tau, m.coverage, m.accuracy, m.balanced_accuracy, ps.accuracy, ans ? kept / ans : kNaN});
  }
  return b;
}

}  // namespace gradgate
