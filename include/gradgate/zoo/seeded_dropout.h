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

 private:
  double p_;
  at::Generator generator_;
};
TORCH_MODULE(SeededDropout);

// Seeds every SeededDropout in `model` (in module order) from `seed` and its index.
// Returns how many there were.
int seed_dropout(torch::nn::Module& model, uint64_t seed);

}  // namespace gradgate
