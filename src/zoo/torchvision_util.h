#pragma once
// Small helpers shared by the torchvision-style families:
// running a slice of an nn::Sequential, swapping its last layer, and torchvision's inits.
#include <torch/torch.h>

#include <cstddef>
#include <functional>
#include <string>

#include "gradgate/error.h"

namespace gradgate::zoo {

// Runs modules [begin, end) of `seq` on x. The features()/head() split falls inside
// torchvision's `features` Sequential for alexnet/vgg, so both halves share one container
// (keeping the state-dict keys "features.<i>.*").
inline torch::Tensor run_range(torch::nn::Sequential& seq, std::size_t begin, std::size_t end,
                               torch::Tensor x) {
  auto it = seq->begin();
  for (std::size_t i = begin; i < end; ++i) x = (it + static_cast<std::ptrdiff_t>(i))->forward(x);
  return x;
}

// Returns a Sequential sharing every module of `seq` except the last, which becomes `last`.
// Names stay "0".."n-1", so parameter names are unchanged.
inline torch::nn::Sequential with_last_replaced(torch::nn::Sequential& seq,
                                                torch::nn::AnyModule last) {
  torch::nn::Sequential out;
  const std::size_t n = seq->size();
  auto it = seq->begin();
  for (std::size_t i = 0; i + 1 < n; ++i) out->push_back(*(it + static_cast<std::ptrdiff_t>(i)));
  out->push_back(std::move(last));
  return out;
}

// torchvision's conv init for vgg/resnet: kaiming_normal_(mode="fan_out", nonlinearity="relu").
inline void kaiming_fan_out(torch::nn::Conv2d& conv) {
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  if (conv->bias.defined()) torch::nn::init::zeros_(conv->bias);
}

inline torch::nn::Conv2d conv2d(int64_t in, int64_t out, int64_t k, int64_t stride = 1,
                                int64_t padding = 0, bool bias = true) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(padding).bias(bias));
}

// torchvision's googlenet/inception_v3 init: truncated normal (cut at +-2) of the given std
// for every conv weight and for `fc`'s weight, BatchNorm weight 1 / bias 0.
inline void truncated_normal_(torch::Tensor& w, double std) { w.normal_(0.0, std).clamp_(-2.0, 2.0); }

inline void init_inception_style(torch::nn::Module& net, torch::Tensor& fc_weight, double std) {
  torch::NoGradGuard no_grad;
  for (auto& m : net.modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      truncated_normal_(conv->weight, std);
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
    }
  }
  truncated_normal_(fc_weight, std);
}

// The new last layer for reset_classifier(): nn::Linear(in, n), initialised by `init` (when
// given) without autograd, on `old`'s device and dtype, in the member's train/eval mode.
inline torch::nn::Linear fresh_linear(const std::string& member, const torch::nn::Linear& old,
                                      int64_t in, int64_t n, bool training,
                                      const std::function<void(torch::nn::Linear&)>& init = {}) {
  if (n < 1)
    throw ModelError(member + ": reset_classifier needs num_classes >= 1, got " + std::to_string(n));
  torch::nn::Linear fresh(in, n);
  if (init) {
    torch::NoGradGuard no_grad;
    init(fresh);
  }
  fresh->to(old->weight.device(), old->weight.scalar_type());
  fresh->train(training);
  return fresh;
}

// nn::Sequential cannot sit inside another Sequential (its forward is a template); this one can.
class SeqImpl : public torch::nn::SequentialImpl {
 public:
  using torch::nn::SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return torch::nn::SequentialImpl::forward(x); }
};
TORCH_MODULE(Seq);

}  // namespace gradgate::zoo
