#pragma once
// Data-parallel gradients summed while the backward pass is still running (as PyTorch's
// DistributedDataParallel does): each parameter's gradient is copied into a bucket the moment
// autograd computes it, and a bucket whose gradients are all in is sent to the other ranks
// (Gloo all-reduce, on its own thread) while autograd goes on with the earlier layers. Only
// the last buckets' transfers are left to wait for after backward.
#include <torch/torch.h>

#include <cstdint>
#include <exception>
#include <vector>

#include "gradgate/comm.h"

namespace gradgate {

class GradientReducer {
 public:
  // `comm` must outlive the reducer. `params`: the member's trainable parameters, in the same
  // order on every rank. Buckets hold consecutive parameters taken from the last one back
  // (the order backward produces them in), at most `bucket_bytes` each (a larger parameter
  // gets a bucket of its own).
  GradientReducer(Comm& comm, std::vector<torch::Tensor> params,
                  int64_t bucket_bytes = 1 << 20);
  ~GradientReducer();  // removes its hooks from the parameters
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Before each backward pass. `extra` (contiguous tensors, e.g. the step's loss parts) are
  // summed in the same round: sent at once, ready after finish_step, so they cost no
  // separate wait.
  void begin_step(std::vector<torch::Tensor> extra = {});
  // After it: launches what is not launched yet (a parameter the loss did not reach counts
  // as zeros, so every rank sends the same buckets), waits for every bucket and leaves the
  // sum over the ranks in each parameter's grad(). Throws DistributedError as Comm does.
  void finish_step();

  std::size_t buckets() const { return buckets_.size(); }
  // Buckets launched from inside backward (overlapped) over the run, against all launched.
  int64_t launched_early() const { return launched_early_; }
  int64_t launched_total() const { return launched_total_; }

 private:
  struct Bucket {
    std::vector<std::size_t> params;  // indices into params_
    torch::Tensor flat;
    int waiting = 0;  // gradients not yet copied in this step
    Comm::Pending work;  // buckets below next_launch_ are in flight (or done) this step
  };
  void on_gradient(std::size_t param, const torch::Tensor& grad);
  torch::Tensor slot(std::size_t param) const;  // the parameter's place in its bucket
  void launch_ready(bool in_backward);

  Comm* comm_;
  std::vector<torch::Tensor> params_;
  std::vector<unsigned> hooks_;
  std::vector<std::size_t> bucket_of_, offset_of_;
  std::vector<char> seen_;
  std::vector<Bucket> buckets_;
  std::vector<Comm::Pending> extra_;
  std::size_t next_launch_ = 0;  // buckets are launched in index order on every rank
  bool in_step_ = false;
  std::exception_ptr error_;  // a failure inside a hook, rethrown by finish_step
  int64_t launched_early_ = 0, launched_total_ = 0;
};

}  // namespace gradgate
