// Accuracy, balanced accuracy, per-class sensitivity/specificity/PPV, AUC (Mann-Whitney),
// the ROC curve and McNemar's exact test: plain functions of labels and scores, with integer
// weights so that a bootstrap draw is a weight vector rather than a copy of the data.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "gradgate/evaluate.h"

namespace gradgate {

namespace {
const double kNaN = std::nan("");
int weight_of(const std::vector<int>& w, size_t i) { return w.empty() ? 1 : w[i]; }
}  // namespace

double auc(const std::vector<double>& score, const std::vector<char>& positive, const std::vector<int>& weights) {
  if (score.size() != positive.size() || (!weights.empty() && weights.size() != score.size()))
    throw std::invalid_argument("auc: score, positive and weights differ in length");
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  // Walk groups of equal scores upwards: each positive beats the negatives below its group
  // and ties with the negatives in it (1/2).
  double pos = 0, neg = 0, wins = 0;
  for (size_t g = 0; g < order.size();) {
    size_t e = g;
    double gp = 0, gn = 0;
    while (e < order.size() && score[order[e]] == score[order[g]]) {
      const double w = weight_of(weights, order[e]);
      (positive[order[e]] ? gp : gn) += w;
      ++e;
    }
    wins += gp * neg + 0.5 * gp * gn;
    pos += gp;
    neg += gn;
    g = e;
  }
  if (pos == 0 || neg == 0) return kNaN;
  return wins / (pos * neg);
}

std::vector<RocPoint> roc_curve(const std::vector<double>& score, const std::vector<char>& positive) {
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  double pos = 0, neg = 0;
  for (char p : positive) (p ? pos : neg) += 1;
  std::vector<RocPoint> curve{{0.0, 0.0}};
  double tp = 0, fp = 0;
  for (size_t g = 0; g < order.size();) {
    size_t e = g;
    while (e < order.size() && score[order[e]] == score[order[g]]) (positive[order[e++]] ? tp : fp) += 1;
    curve.push_back({neg > 0 ? fp / neg : 0.0, pos > 0 ? tp / pos : 0.0});
    g = e;
  }
  return curve;
}

Metrics compute_metrics(const std::vector<int>& truth, const std::vector<int>& pred,
                        const std::vector<std::vector<double>>& probs, int classes, const std::vector<int>& weights) {
  const size_t n = truth.size();
  if (pred.size() != n || probs.size() != n || (!weights.empty() && weights.size() != n) || classes < 2)
    throw std::invalid_argument("compute_metrics: truth, pred, probs and weights differ in length");
  const size_t K = static_cast<size_t>(classes);
  Metrics m;
  m.confusion.assign(K, std::vector<int64_t>(K, 0));
  double labelled = 0, answered = 0, right = 0;
  for (size_t i = 0; i < n; ++i) {
    if (truth[i] < 0) continue;
    const int w = weight_of(weights, i);
    if (w == 0) continue;
    labelled += w;
    if (pred[i] < 0) continue;
    answered += w;
    if (pred[i] == truth[i]) right += w;
    m.confusion[truth[i]][pred[i]] += w;
  }
  m.n = static_cast<size_t>(labelled);
  m.answered = static_cast<size_t>(answered);
  m.coverage = labelled > 0 ? answered / labelled : kNaN;
  m.accuracy = answered > 0 ? right / answered : kNaN;
  m.sensitivity.assign(K, kNaN);
  m.specificity.assign(K, kNaN);
  m.ppv.assign(K, kNaN);
  double recall_sum = 0;
  int recall_classes = 0;
  for (size_t k = 0; k < K; ++k) {
    double tp = m.confusion[k][k], actual = 0, predicted = 0;
    for (size_t j = 0; j < K; ++j) {
      actual += m.confusion[k][j];
      predicted += m.confusion[j][k];
    }
    const double tn = answered - actual - predicted + tp;
    if (actual > 0) {
      m.sensitivity[k] = tp / actual;
      recall_sum += m.sensitivity[k];
      ++recall_classes;
    }
    if (answered - actual > 0) m.specificity[k] = tn / (answered - actual);
    if (predicted > 0) m.ppv[k] = tp / predicted;
  }
  m.balanced_accuracy = recall_classes > 0 ? recall_sum / recall_classes : kNaN;

  // AUC on the answered images with probabilities.
  std::vector<double> score;
  std::vector<int> w, t;
  std::vector<size_t> idx;
  for (size_t i = 0; i < n; ++i)
    if (truth[i] >= 0 && pred[i] >= 0 && probs[i].size() == K && weight_of(weights, i) > 0) idx.push_back(i);
  const auto class_auc = [&](size_t k) {
    std::vector<double> s(idx.size());
    std::vector<char> pos(idx.size());
    std::vector<int> ww(weights.empty() ? 0 : idx.size());
    for (size_t a = 0; a < idx.size(); ++a) {
      s[a] = probs[idx[a]][k];
      pos[a] = truth[idx[a]] == static_cast<int>(k);
      if (!weights.empty()) ww[a] = weights[idx[a]];
    }
    return auc(s, pos, ww);
  };
  if (K == 2) {
    m.auc = class_auc(1);
  } else {
    double sum = 0;
    int count = 0;
    for (size_t k = 0; k < K; ++k) {
      const double a = class_auc(k);
      if (std::isfinite(a)) sum += a, ++count;
    }
    m.auc = count > 0 ? sum / count : kNaN;
  }
  return m;
}

McNemar mcnemar(int64_t b, int64_t c) {
  McNemar r;
  r.b = b;
  r.c = c;
  const int64_t n = b + c;
  if (n == 0) return r;
  const int64_t k = std::min(b, c);
  // P[X = i] for X ~ Bin(n, 1/2), in logs (n may be large).
  const auto pmf = [&](int64_t i) {
    return std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
  };
  double tail = 0;
  for (int64_t i = 0; i <= k; ++i) tail += pmf(i);
  r.p_exact = std::min(1.0, 2.0 * tail);
  r.p_mid = std::min(1.0, 2.0 * tail - pmf(k));
  return r;
}

}  // namespace gradgate
