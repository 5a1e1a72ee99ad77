#pragma once
// What every gradgate executable sets up first thing in main(): prepare_process(argv).
//
// 1. OpenMP threads that spin while they wait cost 10-80x on a busy 2-core machine
//    (measured here: torchvision resnet18 batch 1 on 2 threads, 1.9-3.5 s per image spinning,
//    40 ms passive; darknet19/tiny training 4 vs 253 images/s). libgomp reads
//    OMP_WAIT_POLICY once, when it loads, before main() runs; so when the variable is unset
//    it is set to `passive` and the program restarts itself once. A user's own
//    OMP_WAIT_POLICY is left alone.
// 2. glibc's allocator hands every block above its mmap threshold (128 KiB-32 MiB) to a
//    fresh mmap and unmaps it on free, and threads other than main get their own 64 MiB
//    arenas that fall back to mmap for anything larger. A training step allocates and frees
//    tensors of tens to hundreds of MB, so the kernel faults in and zeroes them again on
//    every step: alexnet at full width spent 5 of 13 s in the kernel (1.34 M page faults in
//    7 steps). Freed memory is therefore kept for reuse: no mmap threshold below 1 GiB, no
//    trimming, one arena for all threads (tensor allocations are few and large, so the
//    shared lock costs nothing measurable). Measured in bench/README.md ("The allocator").
//    GRADGATE_MALLOC=default keeps glibc's defaults (for A/B runs).
namespace gradgate {

void prepare_process(char** argv);

// 3. (part of prepare_process; alone for programs that must not restart, e.g. the fuzzers)
//    OpenCV's and DCMTK's log levels lowered to errors/fatal: each file they fail on becomes
//    an error naming it, so their own stderr lines would only repeat it.
void quiet_library_logs();

}  // namespace gradgate
