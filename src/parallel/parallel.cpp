#include "gradgate/parallel.h"

#include <ATen/Parallel.h>
#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <dlfcn.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <opencv2/core.hpp>

namespace gradgate {

namespace {

struct State {
  std::mutex mutex;
  bool configured = false;
  ThreadPlan plan;
  std::shared_ptr<tbb::task_arena> arena;
};

State& state() {
  static State s;
  return s;
}

std::once_flag interop_once;

}  // namespace

void set_blas_threads(int n) {
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(n);
}

int blas_threads() {
  using GetFn = int (*)();
  auto fn = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn ? fn() : 0;
}

namespace {

ThreadPlan configure_locked(State& s, const ThreadPlan& p) {
  std::call_once(interop_once, [] {
    // Members are the unit of parallelism; torch's inter-op pool stays minimal. torch throws
    // when the pool already started (someone else used it first): then it keeps its size.
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception&) {
    }
  });
  at::set_num_threads(p.intra_op_threads);
  cv::setNumThreads(p.intra_op_threads);
  set_blas_threads(p.intra_op_threads);
  s.arena = std::make_shared<tbb::task_arena>(p.parallel_members);
  s.plan = p;
  s.configured = true;
  return p;
}

}  // namespace

ThreadPlan plan_threads(int cores, int parallel_members) {
  ThreadPlan p;
  p.cores = cores > 0 ? cores : std::max(1, tbb::info::default_concurrency());
  p.parallel_members = parallel_members > 0 ? std::min(parallel_members, p.cores) : p.cores;
  p.intra_op_threads = std::max(1, p.cores / p.parallel_members);
  return p;
}

ThreadPlan plan_training_threads(int cores, int members_at_once) {
  ThreadPlan p = plan_threads(cores, std::max(1, members_at_once));
  if (p.parallel_members > 1) p.intra_op_threads = 1;
  return p;
}

ThreadPlan configure_threads(int cores, int parallel_members) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return configure_locked(s, plan_threads(cores, parallel_members));
}

ThreadPlan configure_threads(const ThreadPlan& plan) {
  if (plan.cores < 1 || plan.parallel_members < 1 || plan.intra_op_threads < 1)
    throw std::invalid_argument("configure_threads: a plan needs cores, parallel_members and "
                                "intra_op_threads >= 1, got " + std::to_string(plan.cores) + ", " +
                                std::to_string(plan.parallel_members) + ", " +
                                std::to_string(plan.intra_op_threads));
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return configure_locked(s, plan);
}

ThreadPlan current_thread_plan() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.configured) configure_locked(s, plan_threads(0, 0));
  return s.plan;
}

void for_each_member(std::size_t n, const std::function<void(std::size_t)>& fn, RunMode mode) {
  std::shared_ptr<tbb::task_arena> arena;
  {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.configured) configure_locked(s, plan_threads(0, 0));
    arena = s.arena;
  }
  if (mode == RunMode::Serial || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  arena->execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1),
                      [&](const tbb::blocked_range<std::size_t>& r) {
                        // A TBB worker's OpenMP thread count starts at the library default;
                        // bring it to the plan's intra-op count before torch runs here.
                        at::init_num_threads();
                        for (std::size_t i = r.begin(); i != r.end(); ++i) fn(i);
                      },
                      tbb::simple_partitioner());  // one task per member: they are few and big
  });
}

}  // namespace gradgate
