// MobileNetV2 as torchvision builds it (torchvision.models.mobilenet_v2). Module names equal
// torchvision's state-dict keys. The width multiplier is torchvision's own `width_mult`
// (channels rounded with its _make_divisible, last conv kept at 1280 below width 1), so a
// torchvision mobilenet_v2(width_mult=w) state dict loads at any width.
#include <torch/torch.h>

#include <cmath>

#include "gradgate/zoo/seeded_dropout.h"
#include "gradgate/error.h"
#include "zoo/families.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;


// torchvision.models._utils._make_divisible: nearest multiple of `divisor`, never more than
// 10% below `v`.
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t out = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

// torchvision's Conv2dNormActivation with ReLU6: children "0" conv, "1" BN, "2" ReLU6.
Seq conv_bn_relu6(int64_t in, int64_t out, int64_t kernel = 3, int64_t stride = 1,
                             int64_t groups = 1) {
  return Seq(
      nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding((kernel - 1) / 2).groups(groups).bias(false)),
      nn::BatchNorm2d(out), nn::ReLU6(nn::ReLU6Options(true)));
}

class InvertedResidualImpl : public nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio)
      : use_res_connect_(stride == 1 && in == out) {
    const auto hidden = static_cast<int64_t>(std::lround(static_cast<double>(in * expand_ratio)));
    nn::Sequential layers;
    if (expand_ratio != 1) layers->push_back(conv_bn_relu6(in, hidden, 1));
    layers->push_back(conv_bn_relu6(hidden, hidden, 3, stride, hidden));
    layers->push_back(nn::Conv2d(nn::Conv2dOptions(hidden, out, 1).bias(false)));
    layers->push_back(nn::BatchNorm2d(out));
    conv = register_module("conv", layers);
  }
  torch::Tensor forward(torch::Tensor x) { return use_res_connect_ ? x + conv->forward(x) : conv->forward(x); }

  nn::Sequential conv{nullptr};

 private:
  bool use_res_connect_;
};
TORCH_MODULE(InvertedResidual);

class MobileNetV2Impl : public MemberImpl {
 public:
  explicit MobileNetV2Impl(const MemberOptions& o) : num_classes_(o.num_classes) {
    // t (expansion), c (channels), n (repeats), s (first stride): torchvision's table.
    const int64_t setting[7][4] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2},  {6, 64, 4, 2},
                                   {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};
    int64_t in = make_divisible(32 * o.width);
    last_channel_ = make_divisible(1280 * std::max(1.0, o.width));
    nn::Sequential f;
    f->push_back(conv_bn_relu6(3, in, 3, 2));
    for (const auto& row : setting) {
      const int64_t out = make_divisible(row[1] * o.width);
      for (int64_t i = 0; i < row[2]; ++i) {
        if (i == 0 && row[3] == 2) fine_split_ = f->size();  // ends as the last stride-2 block
        f->push_back(InvertedResidual(in, out, i == 0 ? row[3] : 1, row[0]));
        in = out;
      }
    }
    f->push_back(conv_bn_relu6(in, last_channel_, 1));  // features.18, the study's out_relu
    features_ = register_module("features", f);
    classifier = register_module("classifier",
                                 nn::Sequential(SeededDropout(0.2), nn::Linear(last_channel_, num_classes_)));

    // torchvision's init: Kaiming-normal (fan_out) convs, BN 1/0, linear N(0, 0.01) / 0.
    torch::NoGradGuard no_grad;
    for (auto& m : modules(/*include_self=*/false)) {
      if (auto* conv = m->as<nn::Conv2d>()) {
        nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut);
      } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
        nn::init::ones_(bn->weight);
        nn::init::zeros_(bn->bias);
      } else if (auto* fc = m->as<nn::Linear>()) {
        init_linear(*fc);
      }
    }
  }

  torch::Tensor features(torch::Tensor x) override { return features_->forward(x); }
  // Stride 16 ends with features.13; features.14 (stride 2) halves the map.
  torch::Tensor fine_features(torch::Tensor x) override { return run_range(features_, 0, fine_split_, x); }
  torch::Tensor fine_tail(torch::Tensor a) override {
    return run_range(features_, fine_split_, features_->size(), a);
  }
  std::string fine_layer() const override { return "features." + std::to_string(fine_split_ - 1); }

  torch::Tensor head(torch::Tensor a) override {
    return classifier->forward(torch::adaptive_avg_pool2d(a, {1, 1}).flatten(1));
  }

  void reset_classifier(int64_t n) override {
    if (n < 1)
      throw ModelError("mobilenetv2: reset_classifier needs num_classes >= 1, got " + std::to_string(n));
    auto old = classifier[1]->as<nn::Linear>();
    auto fresh = nn::Linear(last_channel_, n);
    {
      torch::NoGradGuard no_grad;
      init_linear(*fresh);
    }
    fresh->to(old->weight.device(), old->weight.scalar_type());
    fresh->train(is_training());
    // A Sequential cannot swap one child, so the (parameter-free) dropout is rebuilt with it.
    auto seq = nn::Sequential(SeededDropout(0.2), fresh);
    seq->train(is_training());
    classifier = replace_module("classifier", seq);
    num_classes_ = n;
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "features.18"; }

 private:
  static void init_linear(nn::LinearImpl& fc) {
    nn::init::normal_(fc.weight, 0.0, 0.01);
    nn::init::zeros_(fc.bias);
  }

  int64_t num_classes_;
  int64_t last_channel_ = 0;
  std::size_t fine_split_ = 0;  // index of the last stride-2 block in features_
  nn::Sequential features_{nullptr};
  nn::Sequential classifier{nullptr};
};

}  // namespace

Member make_mobilenet_v2(const MemberOptions& o) { return std::make_shared<MobileNetV2Impl>(o); }

}  // namespace gradgate::zoo
