#pragma once
// Initialisation for the members built here from the papers (no torchvision counterpart).
// No pretrained weights exist, so every member trains from scratch and the start matters:
// He-normal convolutions (fan_out, as timm's Xception and torchvision's ResNet do), BatchNorm
// at identity (gamma 1, beta 0), classifier layers left at LibTorch's default.
#include <torch/torch.h>

namespace gradgate::zoo {

// `negative_slope` is the leak of the activation that follows the convolutions (0 for ReLU).
inline void init_from_scratch(torch::nn::Module& root, double negative_slope = 0.0) {
  torch::NoGradGuard no_grad;
  for (const auto& m : root.modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, negative_slope, torch::kFanOut,
                                       torch::kLeakyReLU);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      if (bn->weight.defined()) bn->weight.fill_(1.0);
      if (bn->bias.defined()) bn->bias.zero_();
    }
  }
}

// Global average pool to [N, C].
inline torch::Tensor global_avg_pool(const torch::Tensor& a) {
  return torch::adaptive_avg_pool2d(a, {1, 1}).flatten(1);
}

}  // namespace gradgate::zoo
