#pragma once
// The one place that decides how many threads do what.
//
// Members run concurrently in one TBB task_arena of `parallel_members` slots; each member's
// torch ops use `intra_op_threads` threads, chosen so parallel_members x intra_op <= cores
// (no oversubscription). OpenCV's pool and OpenBLAS's pool (when libblas.so.3 is OpenBLAS)
// get the intra-op count too (set_blas_threads). torch's inter-op pool is set once per
// process (torch refuses a second call).
//
// Determinism: a member's result does not depend on which thread runs it, so serial and
// parallel runs give bit-identical results *for the same plan*. Changing intra_op_threads can
// change float summation order inside torch kernels; configure once at start-up.
#include <cstddef>
#include <functional>

namespace gradgate {

struct ThreadPlan {
  int cores = 1;             // cores used in all
  int parallel_members = 1;  // members run at the same time (TBB arena concurrency)
  int intra_op_threads = 1;  // torch/OpenCV threads inside one member
};

// Pure arithmetic. cores <= 0: the cores TBB sees (affinity/cgroup aware).
// parallel_members <= 0: as many as cores; clamped to [1, cores].
// intra_op_threads = max(1, cores / parallel_members).
ThreadPlan plan_threads(int cores = 0, int parallel_members = 0);

// Applies plan_threads(cores, parallel_members): at::set_num_threads, cv::setNumThreads,
// set_blas_threads(intra_op_threads), the TBB arena, and (first call only)
// torch::set_num_interop_threads(1). Call from the main
// thread, not while for_each_member runs. Returns the plan now in force.
ThreadPlan configure_threads(int cores = 0, int parallel_members = 0);

// ensemble-train's plan: `members_at_once` members in parallel with one intra-op thread each
// (training measured faster so than fewer members with more threads: docs/architecture.md,
// "Training"), or, with one member at a time, every core inside it. cores <= 0: the cores TBB
// sees; members_at_once clamped to [1, cores].
ThreadPlan plan_training_threads(int cores, int members_at_once);

// Applies `plan` as given (cores, parallel_members >= 1, intra_op_threads >= 1; throws
// std::invalid_argument otherwise), as configure_threads(cores, parallel_members) applies
// plan_threads'. Returns the plan now in force.
ThreadPlan configure_threads(const ThreadPlan& plan);

// Sets OpenBLAS's own thread pool to n threads (torch's set_num_threads does not reach it; it
// does for MKL); a no-op when libblas.so.3 is another BLAS. Sized like torch's intra-op pool:
// members running in parallel get one BLAS thread each (more would oversubscribe the cores, and
// OpenBLAS's pool threads busy-wait after every call: under load, batch-1 forwards at compact
// collapsed 10-30x), one member alone gets every core. On the quiet machine a 2-thread pool made
// batch-1 forwards 1.2-2.8x faster than a 1-thread pool (alexnet, vgg16, xception, inceptionv3;
// the classifiers' large matrix-vector products and im2col + gemm convolutions gain).
void set_blas_threads(int n);

// OpenBLAS's current pool size, or 0 when libblas.so.3 is not OpenBLAS.
int blas_threads();

// The plan in force; configures the defaults on first use.
ThreadPlan current_thread_plan();

enum class RunMode { Serial, Parallel };

// Runs fn(0..n-1): in order on the calling thread (Serial) or as TBB tasks inside the
// arena, at most parallel_members at once (Parallel). Each task first applies the intra-op
// thread count to its worker thread. The first exception thrown by fn is rethrown here after
// the other tasks stop. fn(i) must not share mutable state (e.g. one member object) with fn(j).
void for_each_member(std::size_t n, const std::function<void(std::size_t)>& fn,
                     RunMode mode = RunMode::Parallel);

}  // namespace gradgate
