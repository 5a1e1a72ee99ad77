#pragma once
// The collectives a distributed run needs, on PyTorch's own engine: c10d's TCPStore for the
// rendezvous (rank 0 hosts it) and ProcessGroupGloo for the transfers. Every call is
// collective: all ranks make the same calls in the same order. A rank that stops, a network
// that breaks or a wait longer than the timeout turns into DistributedError on the others
// (never a hang). Gloo's headers stay in comm.cpp.
#include <torch/torch.h>

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gradgate/distributed.h"

namespace gradgate {

class Comm {
 public:
  // Meets the other ranks: rank 0 starts the store on master_port and waits (up to the
  // timeout) for world_size - 1 others; each rank then joins the Gloo group. Throws
  // DistributedError naming the rendezvous when the ranks do not all arrive in time.
  static std::shared_ptr<Comm> connect(const DistOptions& options);
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return options_.rank; }
  int world() const { return options_.world_size; }
  const DistOptions& options() const { return options_; }

  // Sums each tensor over the ranks, in place. Float tensors are packed into flat buckets of
  // at most `bucket_bytes` (one transfer per bucket, all buckets in flight at once).
  void allreduce_sum(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes = 8 << 20);
  // A collective in flight: wait() returns once it is done (DistributedError if it failed).
  class Pending {
   public:
    void wait();

   private:
    friend class Comm;
    std::function<void()> wait_;
  };
  // Starts summing `flat` (one contiguous tensor) over the ranks, in place, and returns at
  // once (Gloo's thread does the transfer): for overlapping transfers with computation.
  Pending start_allreduce_sum(const torch::Tensor& flat);
  // Rank `root`'s values, in place on every rank (same shapes and dtypes on all ranks).
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  // Rank `root`'s bytes on every rank (any length; others pass anything).
  std::string broadcast_bytes(const std::string& bytes, int root = 0);
  // Every rank's tensor, in rank order. Tensors may differ in their first dimension across
  // ranks; the other dimensions and the dtype must agree.
  std::vector<torch::Tensor> allgather(const torch::Tensor& t);
  // True on every rank when `ok` is true on every rank: set-up steps that may fail on one
  // rank (a bad checkpoint) call it so the others stop too, instead of waiting for a
  // collective that will never come.
  bool all_ok(bool ok);
  // Ends a step that may fail on some ranks only (set-up, reading a checkpoint): every rank
  // learns whether it succeeded everywhere (all_ok). A rank whose step failed rethrows its own
  // error; the others throw DistributedError naming themselves and `elsewhere` (what failed
  // on the other rank), so none waits for a collective that will never come.
  void raise_if_failed_anywhere(std::exception_ptr failed, const std::string& elsewhere);
  // Waits for every rank. `timeout_seconds` > 0 replaces the group's timeout for this wait
  // (a rank that stops is still seen at once: its connections close).
  void barrier(double timeout_seconds = 0);

 private:
  explicit Comm(const DistOptions& options);
  // Runs `what` (a collective); Gloo's and c10d's failures become DistributedError.
  template <typename F>
  void guarded(const char* what, F&& f);
  DistOptions options_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// raise_if_failed_anywhere on `comm`, or (no comm: one process) rethrows `failed` if set.
inline void raise_if_failed(Comm* comm, std::exception_ptr failed, const std::string& elsewhere) {
  if (comm)
    comm->raise_if_failed_anywhere(failed, elsewhere);
  else if (failed)
    std::rethrow_exception(failed);
}

}  // namespace gradgate
