#pragma once
// OpenMP threads that spin while they wait cost 10-80x on a busy 2-core machine
// (measured here: torchvision resnet18 batch 1 on 2 threads, 1.9-3.5 s per image spinning,
// 40 ms passive; darknet19/tiny training 4 vs 253 images/s). libgomp reads
// OMP_WAIT_POLICY once, when it loads, before main() runs; so every gradgate executable
// calls this first thing: when the variable is unset it sets it to `passive` and restarts
// itself once. A user's own OMP_WAIT_POLICY is left alone.
namespace gradgate {

void relaunch_with_passive_openmp(char** argv);

}  // namespace gradgate
