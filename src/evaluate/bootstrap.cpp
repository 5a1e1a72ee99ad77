// The bootstrap over patients: images of one patient are not independent (two films of one
// child look alike), so whole patients are drawn with replacement. Seeded: same seed, same draws.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "gradgate/common/seed.h"
#include "gradgate/evaluate.h"

namespace gradgate {

PatientBootstrap::PatientBootstrap(const std::vector<std::string>& patients, int reps, uint64_t seed) {
  std::map<std::string, size_t> id;
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < patients.size(); ++i) {
    if (patients[i].empty()) {
      groups.push_back({i});
      continue;
    }
    const auto [it, fresh] = id.emplace(patients[i], groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  patients_ = groups.size();
  draws_.assign(std::max(0, reps), std::vector<int>(patients.size(), 0));
  for (int r = 0; r < reps; ++r) {
    std::mt19937_64 rng(mix_seed(seed, static_cast<uint64_t>(r), 0x6f6f7473ULL));
    std::uniform_int_distribution<size_t> pick(0, groups.empty() ? 0 : groups.size() - 1);
    for (size_t g = 0; g < groups.size(); ++g)
      for (size_t i : groups[pick(rng)]) ++draws_[r][i];
  }
}

Interval PatientBootstrap::percentile_interval(std::vector<double> values, double level) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }), values.end());
  if (values.empty()) return {std::nan(""), std::nan("")};
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    const double pos = q * (values.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(values.size() - 1, lo + 1);
    return values[lo] + (pos - lo) * (values[hi] - values[lo]);
  };
  const double tail = (1.0 - level) / 2.0;
  return {at(tail), at(1.0 - tail)};
}

}  // namespace gradgate
