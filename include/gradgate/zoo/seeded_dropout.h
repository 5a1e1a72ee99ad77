#pragma once
// Dropout that draws from its own generator instead of torch's one global CPU generator.
//
// ensemble-train trains members in parallel; torch::nn::Dropout draws its masks from the
// global generator, which every member's epoch start re-seeded (torch::manual_seed is
// process-wide), so alexnet's masks depended on when resnet18 reached its next epoch: two
// identical runs gave different weights. Each SeededDropout owns a generator that the trainer
// seeds from (seed, member, epoch, module index) (seed_dropout), so a member's draws are its
// own whatever runs beside it. In eval mode it is the identity, like nn::Dropout; it has no
// parameters or buffers, so state dicts are unchanged.
#include <torch/torch.h>

#include <cstdint>

namespace gradgate {

class SeededDropoutImpl : public torch::nn::Cloneable<SeededDropoutImpl> {
 public:
  explicit SeededDropoutImpl(double p = 0.5);
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& x);
  void seed(uint64_t s);
  double p() const { return p_; }
  // Data-parallel training (comm.h): this process holds rows offset, offset+stride, ... of a
  // global batch of `global_rows`. The mask is drawn for the whole global batch and this
  // process's rows taken, so every image gets the mask one process would give it.
  // global_rows 0: the input is the whole batch.
  void shard(int64_t global_rows, int64_t offset, int64_t stride);

 private:
  double p_;
  int64_t global_rows_ = 0, offset_ = 0, stride_ = 1;
  at::Generator generator_;
};
TORCH_MODULE(SeededDropout);

// Seeds every SeededDropout in `model` (in module order) from `seed` and its index.
// Returns how many there were.
int seed_dropout(torch::nn::Module& model, uint64_t seed);

// SeededDropoutImpl::shard on every SeededDropout in `model`.
void shard_dropout(torch::nn::Module& model, int64_t global_rows, int64_t offset, int64_t stride);

}  // namespace gradgate
