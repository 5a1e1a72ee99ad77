// SqueezeNet 1.1 as in torchvision.models.squeezenet1_1. The study's feature layer is
// relu_conv10 = classifier.2 (the ReLU after the final 1x1 conv), so features() runs the
// classifier's dropout, final conv and ReLU, and head() is just the global average pool.
// Every ReLU runs in place, as torchvision's (all belong to features()).
#include <torch/torch.h>

#include "gradgate/zoo/seeded_dropout.h"
#include "zoo/families.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;

class FireImpl : public nn::Module {
 public:
  FireImpl(int64_t in, int64_t squeeze, int64_t e1, int64_t e3) {
    squeeze_ = register_module("squeeze", conv2d(in, squeeze, 1));
    squeeze_act_ = register_module("squeeze_activation", nn::ReLU(nn::ReLUOptions(true)));
    expand1x1_ = register_module("expand1x1", conv2d(squeeze, e1, 1));
    expand1x1_act_ = register_module("expand1x1_activation", nn::ReLU(nn::ReLUOptions(true)));
    expand3x3_ = register_module("expand3x3", conv2d(squeeze, e3, 3, 1, 1));
    expand3x3_act_ = register_module("expand3x3_activation", nn::ReLU(nn::ReLUOptions(true)));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = squeeze_act_(squeeze_(x));
    return torch::cat({expand1x1_act_(expand1x1_(x)), expand3x3_act_(expand3x3_(x))}, 1);
  }
  void init_torchvision() {
    torch::NoGradGuard no_grad;
    for (auto* c : {&squeeze_, &expand1x1_, &expand3x3_}) {
      nn::init::kaiming_uniform_((*c)->weight);  // torchvision: kaiming_uniform_ defaults
      nn::init::zeros_((*c)->bias);
    }
  }

 private:
  nn::Conv2d squeeze_{nullptr}, expand1x1_{nullptr}, expand3x3_{nullptr};
  nn::ReLU squeeze_act_{nullptr}, expand1x1_act_{nullptr}, expand3x3_act_{nullptr};
};
TORCH_MODULE(Fire);

nn::Conv2d final_conv(int64_t in, int64_t n) {
  auto c = conv2d(in, n, 1);
  torch::NoGradGuard no_grad;
  nn::init::normal_(c->weight, 0.0, 0.01);
  nn::init::zeros_(c->bias);
  return c;
}

class SqueezeNetImpl : public MemberImpl {
 public:
  explicit SqueezeNetImpl(const MemberOptions& o) : num_classes_(o.num_classes) {
    auto c = [&](int64_t ch) { return scaled_channels(ch, o.width); };
    auto pool = [] { return nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).ceil_mode(true)); };
    auto fire = [&](int64_t in, int64_t s, int64_t e) {
      Fire f(in, c(s), c(e), c(e));
      f->init_torchvision();
      return f;
    };
    auto stem = conv2d(3, c(64), 3, 2);
    {
      torch::NoGradGuard no_grad;
      nn::init::kaiming_uniform_(stem->weight);
      nn::init::zeros_(stem->bias);
    }
    features_ = register_module(
        "features",
        nn::Sequential(stem, nn::ReLU(nn::ReLUOptions(true)), pool(),
                       fire(c(64), 16, 64), fire(2 * c(64), 16, 64), pool(),
                       fire(2 * c(64), 32, 128), fire(2 * c(128), 32, 128), pool(),
                       fire(2 * c(128), 48, 192), fire(2 * c(192), 48, 192),
                       fire(2 * c(192), 64, 256), fire(2 * c(256), 64, 256)));
    final_in_ = 2 * c(256);
    classifier_ = register_module(
        "classifier", nn::Sequential(SeededDropout(0.5), final_conv(final_in_, num_classes_),
                                     nn::ReLU(nn::ReLUOptions(true)),
                                     nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({1, 1}))));
  }

  torch::Tensor features(torch::Tensor x) override {
    return run_range(classifier_, 0, 3, features_->forward(x));
  }
  torch::Tensor head(torch::Tensor a) override {
    return torch::flatten(run_range(classifier_, 3, 4, a), 1);
  }

  void reset_classifier(int64_t n) override {
    num_classes_ = n;
    nn::Sequential c(SeededDropout(0.5), final_conv(final_in_, n), nn::ReLU(nn::ReLUOptions(true)),
                     nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({1, 1})));
    classifier_ = replace_module("classifier", c);
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "classifier.2"; }

 private:
  int64_t num_classes_;
  int64_t final_in_ = 512;
  nn::Sequential features_{nullptr}, classifier_{nullptr};
};

}  // namespace

Member make_squeezenet1_1(const MemberOptions& o) { return std::make_shared<SqueezeNetImpl>(o); }

}  // namespace gradgate::zoo
