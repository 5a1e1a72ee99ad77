// Accuracy, ROC AUC (one-vs-rest macro for more than two classes), per-class recall and
// cross-entropy from class probabilities.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "gradgate/error.h"
#include "gradgate/train.h"

namespace gradgate {

double roc_auc(const std::vector<float>& scores, const std::vector<bool>& positive) {
  const std::size_t n = scores.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return scores[a] < scores[b]; });
  // Mann-Whitney U with mid-ranks for ties.
  double rank_sum = 0.0;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double mid = 0.5 * static_cast<double>(i + j) + 1.0;
    for (std::size_t k = i; k <= j; ++k)
      if (positive[order[k]]) {
        rank_sum += mid;
        ++pos;
      }
    i = j + 1;
  }
  const std::size_t neg = n - pos;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  const double p = static_cast<double>(pos);
  return (rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(neg));
}

EvalMetrics compute_metrics(const std::vector<float>& probs, const std::vector<int64_t>& labels,
                            int num_classes, const std::vector<double>& class_weights) {
  const std::size_t n = labels.size(), k = static_cast<std::size_t>(num_classes);
  if (probs.size() != n * k)
    throw Error("compute_metrics: " + std::to_string(probs.size()) + " probabilities for " +
                std::to_string(n) + " labels x " + std::to_string(k) + " classes");
  EvalMetrics m;
  m.count = static_cast<int64_t>(n);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  m.recall.assign(k, nan);
  if (n == 0) {
    m.loss = m.accuracy = m.auc = nan;
    return m;
  }
  std::vector<int64_t> hits(k, 0), totals(k, 0);
  double loss = 0.0, weight_sum = 0.0;
  int64_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = &probs[i * k];
    const auto y = static_cast<std::size_t>(labels[i]);
    const auto pred = static_cast<std::size_t>(std::max_element(row, row + k) - row);
    ++totals[y];
    if (pred == y) {
      ++correct;
      ++hits[y];
    }
    const double w = class_weights.empty() ? 1.0 : class_weights[y];
    loss += -w * std::log(std::max(1e-12, static_cast<double>(row[y])));
    weight_sum += w;
  }
  m.loss = loss / weight_sum;
  m.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  for (std::size_t c = 0; c < k; ++c)
    if (totals[c] > 0) m.recall[c] = static_cast<double>(hits[c]) / static_cast<double>(totals[c]);

  auto auc_of = [&](std::size_t c) {
    std::vector<float> s(n);
    std::vector<bool> pos(n);
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = probs[i * k + c];
      pos[i] = static_cast<std::size_t>(labels[i]) == c;
    }
    return roc_auc(s, pos);
  };
  if (k == 2) {
    m.auc = auc_of(1);
  } else {
    double sum = 0.0;
    int used = 0;
    for (std::size_t c = 0; c < k; ++c) {
      const double a = auc_of(c);
      if (!std::isnan(a)) {
        sum += a;
        ++used;
      }
    }
    m.auc = used ? sum / used : nan;
  }
  return m;
}

}  // namespace gradgate
