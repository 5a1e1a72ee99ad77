// DenseNet-201 as torchvision builds it (torchvision.models.densenet201: growth rate 32,
// blocks (6, 12, 48, 32), 64 initial features, bottleneck 4x, no dropout). Module names equal
// torchvision's state-dict keys (the modern "norm1"/"conv1" form, not the legacy "norm.1").
//
// Split: features() returns the output of features.norm5 (the study's `bn`); torchvision's
// final ReLU, the global pool and the classifier form head().
#include <torch/torch.h>

#include "gradgate/error.h"
#include "zoo/families.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;


class DenseLayerImpl : public nn::Module {
 public:
  DenseLayerImpl(int64_t in, int64_t growth, int64_t bn_size) {
    norm1 = register_module("norm1", nn::BatchNorm2d(in));
    relu1 = register_module("relu1", nn::ReLU(nn::ReLUOptions(true)));
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, bn_size * growth, 1).bias(false)));
    norm2 = register_module("norm2", nn::BatchNorm2d(bn_size * growth));
    relu2 = register_module("relu2", nn::ReLU(nn::ReLUOptions(true)));
    conv2 = register_module(
        "conv2", nn::Conv2d(nn::Conv2dOptions(bn_size * growth, growth, 3).padding(1).bias(false)));
  }
  // `x` is the concatenation of all earlier features of the block.
  torch::Tensor forward(const torch::Tensor& x) {
    auto bottleneck = conv1(relu1(norm1(x)));
    return conv2(relu2(norm2(bottleneck)));
  }
  nn::BatchNorm2d norm1{nullptr}, norm2{nullptr};
  nn::ReLU relu1{nullptr}, relu2{nullptr};
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(DenseLayer);

class DenseBlockImpl : public nn::Module {
 public:
  DenseBlockImpl(int64_t layers, int64_t in, int64_t growth, int64_t bn_size) {
    for (int64_t i = 0; i < layers; ++i)
      layers_.push_back(
          register_module("denselayer" + std::to_string(i + 1), DenseLayer(in + i * growth, growth, bn_size)));
  }
  torch::Tensor forward(torch::Tensor x) {
    // Each layer sees the concatenation of everything before it (torchvision concatenates the
    // growing list each time; concatenating incrementally gives the same tensor).
    for (auto& layer : layers_) x = torch::cat({x, layer(x)}, 1);
    return x;
  }

 private:
  std::vector<DenseLayer> layers_;
};
TORCH_MODULE(DenseBlock);

Seq transition(int64_t in, int64_t out) {
  Seq t;
  t->push_back("norm", nn::BatchNorm2d(in));
  t->push_back("relu", nn::ReLU(nn::ReLUOptions(true)));
  t->push_back("conv", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)));
  t->push_back("pool", nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)));
  return t;
}

class DenseNetImpl : public MemberImpl {
 public:
  DenseNetImpl(const MemberOptions& o, std::vector<int64_t> block_config, int64_t growth_rate,
               int64_t num_init_features, int64_t bn_size)
      : num_classes_(o.num_classes) {
    // The width multiplier scales the growth rate and the stem; transitions halve as usual.
    const int64_t growth = scaled_channels(growth_rate, o.width);
    const int64_t init = scaled_channels(num_init_features, o.width);

    nn::Sequential f;
    f->push_back("conv0", nn::Conv2d(nn::Conv2dOptions(3, init, 7).stride(2).padding(3).bias(false)));
    f->push_back("norm0", nn::BatchNorm2d(init));
    f->push_back("relu0", nn::ReLU(nn::ReLUOptions(true)));
    f->push_back("pool0", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
    int64_t num_features = init;
    for (size_t i = 0; i < block_config.size(); ++i) {
      f->push_back("denseblock" + std::to_string(i + 1),
                   DenseBlock(block_config[i], num_features, growth, bn_size));
      num_features += block_config[i] * growth;
      if (i + 1 != block_config.size()) {
        if (i + 2 == block_config.size()) fine_split_ = f->size();  // the last transition halves the map
        f->push_back("transition" + std::to_string(i + 1), transition(num_features, num_features / 2));
        num_features /= 2;
      }
    }
    f->push_back("norm5", nn::BatchNorm2d(num_features));
    features_ = register_module("features", f);
    feature_channels_ = num_features;
    classifier = register_module("classifier", nn::Linear(num_features, num_classes_));

    // torchvision's init: Kaiming-normal convs, BN weight 1 / bias 0, linear bias 0.
    torch::NoGradGuard no_grad;
    for (auto& m : modules(/*include_self=*/false)) {
      if (auto* conv = m->as<nn::Conv2d>()) {
        nn::init::kaiming_normal_(conv->weight);
      } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
        nn::init::ones_(bn->weight);
        nn::init::zeros_(bn->bias);
      }
    }
    nn::init::zeros_(classifier->bias);
  }

  torch::Tensor features(torch::Tensor x) override { return features_->forward(x); }
  // Stride 16 ends with the third dense block; transition3 halves the map.
  torch::Tensor fine_features(torch::Tensor x) override { return run_range(features_, 0, fine_split_, x); }
  torch::Tensor fine_tail(torch::Tensor a) override {
    return run_range(features_, fine_split_, features_->size(), a);
  }
  std::string fine_layer() const override { return "features.denseblock" + std::to_string(fine_split_ / 2 - 1); }

  torch::Tensor head(torch::Tensor a) override {
    // Not in place: `a` is the Grad-CAM activation and must stay as features() returned it.
    auto x = torch::adaptive_avg_pool2d(torch::relu(a), {1, 1}).flatten(1);
    return classifier(x);
  }

  void reset_classifier(int64_t n) override {
    classifier = replace_module(
        "classifier", fresh_linear("densenet201", classifier, feature_channels_, n, is_training(),
                                   [](nn::Linear& l) { nn::init::zeros_(l->bias); }));
    num_classes_ = n;
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "features.norm5"; }

 private:
  int64_t num_classes_;
  int64_t feature_channels_ = 0;
  std::size_t fine_split_ = 0;  // index of the last transition in features_
  nn::Sequential features_{nullptr};
  nn::Linear classifier{nullptr};
};

}  // namespace

Member make_densenet201(const MemberOptions& o) {
  return std::make_shared<DenseNetImpl>(o, std::vector<int64_t>{6, 12, 48, 32}, 32, 64, 4);
}

}  // namespace gradgate::zoo
