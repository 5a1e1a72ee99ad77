#pragma once
// Helpers shared by the speed benchmarks (zoo-speed, train-speed): their common option
// checks, the timing loop and the one-line error text of their tab-separated RESULT/NA lines.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "gradgate/common/strings.h"
#include "gradgate/error.h"
#include "gradgate/zoo/member_info.h"

namespace gradgate::bench {

// --members: "all" (the registry's order) or a comma-separated list; an unknown name throws
// before anything is timed.
inline std::vector<std::string> members_to_time(const std::string& arg) {
  std::vector<std::string> members = arg == "all" ? member_names() : split_list(arg);
  for (const auto& m : members) member_info(m);
  return members;
}

// --threads, --min-iters and --max-iters, checked alike in both benchmarks (ConfigError).
inline void check_timing_options(int threads, int min_iters, int max_iters) {
  if (threads < 1) throw ConfigError("--threads must be >= 1");
  if (min_iters < 1 || max_iters < min_iters)
    throw ConfigError("--min-iters must be >= 1 and <= --max-iters");
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Timing {
  double median_s;
  int iters;
};

// Warm-up calls (the first ones pick oneDNN primitives and allocate), then timed calls until
// both `min_time` seconds and `min_iters` calls have passed, or `max_iters`. The median
// ignores the odd call that another process on this shared machine slowed down.
template <class Fn>
Timing time_calls(Fn&& fn, int warmup, double min_time, int min_iters, int max_iters) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> per_iter;
  const auto start = clock::now();
  while (true) {
    const auto t0 = clock::now();
    fn();
    const auto t1 = clock::now();
    per_iter.push_back(std::chrono::duration<double>(t1 - t0).count());
    const double elapsed = std::chrono::duration<double>(t1 - start).count();
    const int n = static_cast<int>(per_iter.size());
    if ((elapsed >= min_time && n >= min_iters) || n >= max_iters) break;
  }
  return {median(per_iter), static_cast<int>(per_iter.size())};
}

// torch errors carry a multi-line C++ backtrace; a table cell wants the first line.
inline std::string one_line(std::string s) {
  const auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  std::replace(s.begin(), s.end(), '\t', ' ');
  return s;
}

}  // namespace gradgate::bench
