#pragma once
// The one place that decides how many threads do what.
//
// Members run concurrently in one TBB task_arena of `parallel_members` slots; each member's
// torch ops use `intra_op_threads` threads, chosen so parallel_members x intra_op <= cores
// (no oversubscription). OpenCV's pool gets the intra-op count too; OpenBLAS's pool (when
// libblas.so.3 is OpenBLAS) gets one thread (see single_threaded_blas). torch's inter-op pool
// is set once per process (torch refuses a second call).
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
// single_threaded_blas(), the TBB arena, and (first call only)
// torch::set_num_interop_threads(1). Call from the main
// thread, not while for_each_member runs. Returns the plan now in force.
ThreadPlan configure_threads(int cores = 0, int parallel_members = 0);

// Sets OpenBLAS's own thread pool (torch's set_num_threads does not reach it; it does for MKL)
// to one thread; a no-op when libblas.so.3 is another BLAS. torch already parallelises around
// its BLAS calls, and OpenBLAS's pool threads busy-wait (sched_yield) for a while after every
// call whatever OMP_WAIT_POLICY says, taking a core from torch's OpenMP threads. For small
// batch-1 inputs (N*C*H*W <= 20480, no groups, kernel <= 3x3) torch's conv skips oneDNN for
// im2col + BLAS gemm, so a batch-1 forward at the compact preset makes dozens of BLAS calls:
// on this busy 2-core machine, with the 2-thread pool, xception ran 3-11 images/s at batch 1
// (120+ at batch 8) and a single 256->256 1x1 conv on 4x4 took 12 ms instead of 0.02 ms.
// With one thread both went away; a 25088->4096 Linear (vgg's classifier) was no slower.
void single_threaded_blas();
// Sets OpenBLAS's pool to n threads (training with all cores on one member); a no-op for another BLAS.
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
