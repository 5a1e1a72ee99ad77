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
  if (global_rows_ > 0 && x.dim() > 0) {
    auto shape = x.sizes().vec();
    TORCH_CHECK(shape[0] == (global_rows_ - offset_ + stride_ - 1) / stride_,
                "SeededDropout: ", shape[0], " rows, but the shard takes rows ", offset_, "::",
                stride_, " of ", global_rows_);
    shape[0] = global_rows_;
    const torch::Tensor all = torch::empty(shape, x.options()).bernoulli_(1.0 - p_, generator_);
    const torch::Tensor keep = all.slice(0, offset_, global_rows_, stride_);
    return x * keep / (1.0 - p_);
  }
  const torch::Tensor keep = torch::empty_like(x).bernoulli_(1.0 - p_, generator_);
  return x * keep / (1.0 - p_);
}

void SeededDropoutImpl::shard(int64_t global_rows, int64_t offset, int64_t stride) {
  if (global_rows < 0 || stride < 1 || offset < 0 || (global_rows > 0 && offset >= global_rows))
    throw std::invalid_argument("SeededDropout::shard: bad rows");
  global_rows_ = global_rows;
  offset_ = offset;
  stride_ = stride;
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

void shard_dropout(torch::nn::Module& model, int64_t global_rows, int64_t offset, int64_t stride) {
  for (const auto& m : model.modules(/*include_self=*/true))
    if (auto* d = m->as<SeededDropoutImpl>()) d->shard(global_rows, offset, stride);
}

}  // namespace gradgate
