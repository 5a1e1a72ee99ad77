#pragma once
// Hand-built members with known Grad-CAM answers, for the Grad-CAM and parallel tests.
#include <torch/torch.h>

#include <string>

#include "gradgate/zoo/member.h"

namespace gradgate::testing {

// features = ReLU(conv3x3 stride 2) -> A [N,C,h,w]; head = global average pool + linear.
// Grad-CAM for class k: dY_k/dA_cij = W[k,c] / (h*w) everywhere, so
// Grad-CAM = ReLU(sum_c W[k,c]/(h*w) A_c) = CAM / (h*w), and HiResCAM gives the same.
class GapLinearImpl : public MemberImpl {
 public:
  GapLinearImpl(int64_t channels, int64_t classes)
      : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, channels, 3)
                                                           .stride(2)
                                                           .padding(1)))),
        fc(register_module("fc", torch::nn::Linear(channels, classes))) {}
  torch::Tensor features(torch::Tensor x) override { return torch::relu(conv(x)); }
  torch::Tensor head(torch::Tensor a) override { return fc(a.mean({2, 3})); }
  void reset_classifier(int64_t k) override {
    fc = replace_module("fc", torch::nn::Linear(fc->options.in_features(), k));
  }
  int64_t num_classes() const override { return fc->options.out_features(); }
  std::string feature_layer() const override { return "conv"; }

  torch::nn::Conv2d conv;
  torch::nn::Linear fc;
};
TORCH_MODULE(GapLinear);

// A small CNN whose head is more than a linear map (1x1 conv, ReLU, dropout, two FC layers),
// and whose trunk has batch norm: eval mode matters and the gradients vary over space.
class SmallCnnImpl : public MemberImpl {
 public:
  explicit SmallCnnImpl(int64_t classes)
      : c1(register_module("c1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).stride(2).padding(1)))),
        bn(register_module("bn", torch::nn::BatchNorm2d(8))),
        c2(register_module("c2", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 16, 3).stride(2).padding(1)))),
        c3(register_module("c3", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 16, 1)))),
        drop(register_module("drop", torch::nn::Dropout(0.5))),
        fc1(register_module("fc1", torch::nn::Linear(16, 12))),
        fc2(register_module("fc2", torch::nn::Linear(12, classes))) {
    // Non-trivial running statistics, so train and eval mode give different outputs.
    torch::NoGradGuard g;
    bn->running_mean.uniform_(-0.2, 0.2);
    bn->running_var.uniform_(0.5, 2.0);
  }
  torch::Tensor features(torch::Tensor x) override {
    return torch::relu(c2(torch::relu(bn(c1(x)))));
  }
  torch::Tensor head(torch::Tensor a) override {
    auto h = torch::relu(c3(a));
    h = std::get<0>(torch::adaptive_max_pool2d(h, {2, 2})).mean({2, 3});  // spatially varying gradient
    return fc2(torch::relu(fc1(drop(h))));
  }
  void reset_classifier(int64_t k) override {
    fc2 = replace_module("fc2", torch::nn::Linear(12, k));
  }
  int64_t num_classes() const override { return fc2->options.out_features(); }
  std::string feature_layer() const override { return "c2"; }

  torch::nn::Conv2d c1;
  torch::nn::BatchNorm2d bn;
  torch::nn::Conv2d c2, c3;
  torch::nn::Dropout drop;
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(SmallCnn);

}  // namespace gradgate::testing
