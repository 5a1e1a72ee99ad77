// VGG-16 and VGG-19 (configurations D and E, no batch norm) as in torchvision.models.vgg,
// split at the last ReLU of `features` (features.29 / features.35: relu5_3 / relu5_4).
// The ReLUs of `features` run in place as torchvision's; head() (final pool and classifier)
// stays out of place: Grad-CAM differentiates it with respect to the feature map it reads.
#include <torch/torch.h>

#include <vector>

#include "gradgate/zoo/seeded_dropout.h"
#include "zoo/families.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;

constexpr int64_t M = 0;  // max-pool marker in a configuration
const std::vector<int64_t> kCfgD = {64, 64, M, 128, 128, M, 256, 256, 256, M,
                                    512, 512, 512, M, 512, 512, 512, M};
const std::vector<int64_t> kCfgE = {64, 64, M, 128, 128, M, 256, 256, 256, 256, M,
                                    512, 512, 512, 512, M, 512, 512, 512, 512, M};

// torchvision's VGG classifier init: Linear ~ N(0, 0.01), bias 0.
void init_linear(nn::Linear& l) {
  torch::NoGradGuard no_grad;
  nn::init::normal_(l->weight, 0.0, 0.01);
  nn::init::zeros_(l->bias);
}

class VGGImpl : public MemberImpl {
 public:
  VGGImpl(const std::vector<int64_t>& cfg, std::string feature_layer, const MemberOptions& o)
      : num_classes_(o.num_classes), feature_layer_(std::move(feature_layer)) {
    nn::Sequential f;
    int64_t in = 3;
    for (int64_t v : cfg) {
      if (v == M) {
        f->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
      } else {
        const int64_t out = scaled_channels(v, o.width);
        auto conv = conv2d(in, out, 3, 1, 1);
        kaiming_fan_out(conv);
        f->push_back(conv);
        f->push_back(nn::ReLU(nn::ReLUOptions(true)));  // in place, as torchvision
        in = out;
      }
    }
    features_ = register_module("features", f);
    split_ = features_->size() - 1;  // everything up to the last ReLU; the final pool is head's
    avgpool_ = register_module("avgpool", nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({7, 7})));
    hidden_ = scaled_channels(4096, o.classifier_width > 0 ? o.classifier_width : o.width);
    nn::Linear fc0(in * 7 * 7, hidden_), fc3(hidden_, hidden_), fc6(hidden_, num_classes_);
    init_linear(fc0);
    init_linear(fc3);
    init_linear(fc6);
    classifier_ = register_module(
        "classifier", nn::Sequential(fc0, nn::ReLU(), SeededDropout(0.5), fc3, nn::ReLU(),
                                     SeededDropout(0.5), fc6));
  }

  torch::Tensor features(torch::Tensor x) override { return run_range(features_, 0, split_, x); }

  torch::Tensor head(torch::Tensor a) override {
    a = run_range(features_, split_, features_->size(), a);
    a = torch::flatten(avgpool_(a), 1);
    return classifier_->forward(a);
  }

  void reset_classifier(int64_t n) override {
    num_classes_ = n;
    nn::Linear fc(hidden_, n);
    init_linear(fc);
    classifier_ = replace_module("classifier", with_last_replaced(classifier_, nn::AnyModule(fc)));
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return feature_layer_; }

 private:
  int64_t num_classes_;
  std::string feature_layer_;
  std::size_t split_ = 0;
  int64_t hidden_ = 4096;
  nn::Sequential features_{nullptr}, classifier_{nullptr};
  nn::AdaptiveAvgPool2d avgpool_{nullptr};
};

}  // namespace

Member make_vgg16(const MemberOptions& o) { return std::make_shared<VGGImpl>(kCfgD, "features.29", o); }
Member make_vgg19(const MemberOptions& o) { return std::make_shared<VGGImpl>(kCfgE, "features.35", o); }

}  // namespace gradgate::zoo
