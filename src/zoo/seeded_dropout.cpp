#include "gradgate/zoo/seeded_dropout.h"

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>
#include <stdexcept>

#include "gradgate/common/seed.h"

namespace gradgate {

SeededDropoutImpl::SeededDropoutImpl(double p)
    : p_(p), generator_(at::make_generator<at::CPUGeneratorImpl>(0x5eed)) {
  if (!(p >= 0.0 && p < 1.0)) throw std::invalid_argument("SeededDropout: p must lie in [0, 1)");
}

torch::Tensor SeededDropoutImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p_ == 0.0) return x;
  // bernoulli_ takes the generator's mutex itself (holding it here deadlocked).
  const torch::Tensor keep = torch::empty_like(x).bernoulli_(1.0 - p_, generator_);
  return x * keep / (1.0 - p_);
}

void SeededDropoutImpl::seed(uint64_t s) {
  std::lock_guard<std::mutex> lock(generator_.mutex());
  generator_.set_current_seed(s);
}

int seed_dropout(torch::nn::Module& model, uint64_t seed) {
  int i = 0;
  for (const auto& m : model.modules(/*include_self=*/true))
    if (auto* d = m->as<SeededDropoutImpl>()) d->seed(mix_seed(seed, static_cast<uint64_t>(++i)));
  return i;
}

}  // namespace gradgate
