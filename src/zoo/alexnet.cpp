// AlexNet as in torchvision.models.alexnet (the "one weird trick" variant: 64-192-384-256-256
// channels), split after features.11 (the study's relu5).
#include <torch/torch.h>

#include "gradgate/zoo/seeded_dropout.h"
#include "zoo/families.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;

class AlexNetImpl : public MemberImpl {
 public:
  explicit AlexNetImpl(const MemberOptions& o) : num_classes_(o.num_classes) {
    auto c = [&](int64_t ch) { return scaled_channels(ch, o.width); };
    // In place in `features`, as torchvision; the classifier (head) stays out of place.
    auto relu = [] { return nn::ReLU(nn::ReLUOptions(true)); };
    features_ = register_module(
        "features",
        nn::Sequential(conv2d(3, c(64), 11, 4, 2), relu(),
                       nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2)),
                       conv2d(c(64), c(192), 5, 1, 2), relu(),
                       nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2)),
                       conv2d(c(192), c(384), 3, 1, 1), relu(),
                       conv2d(c(384), c(256), 3, 1, 1), relu(),
                       conv2d(c(256), c(256), 3, 1, 1), relu(),  // 11: relu5
                       nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2))));
    // Kept at (6,6) as torchvision does, so any input side reaches the same classifier.
    avgpool_ = register_module("avgpool", nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({6, 6})));
    hidden_ = scaled_channels(4096, o.classifier_width > 0 ? o.classifier_width : o.width);
    classifier_ = register_module(
        "classifier",
        nn::Sequential(SeededDropout(0.5), nn::Linear(c(256) * 6 * 6, hidden_), nn::ReLU(),
                       SeededDropout(0.5), nn::Linear(hidden_, hidden_), nn::ReLU(),
                       nn::Linear(hidden_, num_classes_)));
  }

  torch::Tensor features(torch::Tensor x) override { return run_range(features_, 0, kSplit, x); }

  torch::Tensor head(torch::Tensor a) override {
    a = run_range(features_, kSplit, features_->size(), a);
    a = torch::flatten(avgpool_(a), 1);
    return classifier_->forward(a);
  }

  void reset_classifier(int64_t n) override {
    num_classes_ = n;
    classifier_ = replace_module(
        "classifier", with_last_replaced(classifier_, nn::AnyModule(nn::Linear(hidden_, n))));
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "features.11"; }

 private:
  static constexpr std::size_t kSplit = 12;  // features[0..11] belong to features()
  int64_t num_classes_;
  int64_t hidden_ = 4096;
  nn::Sequential features_{nullptr}, classifier_{nullptr};
  nn::AdaptiveAvgPool2d avgpool_{nullptr};
};

}  // namespace

Member make_alexnet(const MemberOptions& o) { return std::make_shared<AlexNetImpl>(o); }

}  // namespace gradgate::zoo
