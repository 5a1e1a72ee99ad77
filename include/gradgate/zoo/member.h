#pragma once
// A member of the ensemble: a CNN split at its Grad-CAM feature layer.
//   features(x): image batch [N,3,H,W] -> feature map A [N,C,h,w] at the study's layer
//   head(a):     A -> logits [N,num_classes]
//   forward(x) = head(features(x))
// Grad-CAM runs features() without an autograd graph and differentiates head() only.
//
// Members whose study layer sits at stride 32 also split one stage earlier, at stride 16
// (fine_features / fine_tail): a map with twice the cells a side (8x8 at 128 px instead of
// 4x4), at the price of differentiating the last stage too. features(x) is always
// fine_tail(fine_features(x)); members already at stride 16 (alexnet, vgg, squeezenet) keep
// the defaults (fine layer = study layer, empty tail).
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace gradgate {

struct MemberOptions {
  int64_t num_classes = 1000;
  // Channel multiplier; 1.0 is the architecture as published (the `full` preset).
  double width = 1.0;
  // Input side the member is used at; 0 means its native side. Architectures are fully
  // convolutional up to the global pool, so this only documents/validates the input.
  int64_t input_side = 0;
  // Multiplier of the hidden fully connected layers of the classifier (alexnet, vgg: 4096
  // units as published); 0 = `width`. Those layers hold most of the two families' weights.
  double classifier_width = 0.0;
};

class MemberImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor features(torch::Tensor x) = 0;
  virtual torch::Tensor head(torch::Tensor a) = 0;
  torch::Tensor forward(torch::Tensor x) { return head(features(x)); }

  // Replaces the classifier with a freshly initialised one for `num_classes` outputs
  // (transfer learning). Parameter names stay those of torchvision.
  virtual void reset_classifier(int64_t num_classes) = 0;
  virtual int64_t num_classes() const = 0;

  // Dotted module name (torchvision naming) whose output features() returns.
  virtual std::string feature_layer() const = 0;

  // The stride-16 split (see above). fine_tail's input may be modified in place by the
  // tail's first layer: pass a tensor the caller does not need afterwards.
  virtual torch::Tensor fine_features(torch::Tensor x) { return features(std::move(x)); }
  virtual torch::Tensor fine_tail(torch::Tensor a) { return a; }
  virtual std::string fine_layer() const { return feature_layer(); }
};

using Member = std::shared_ptr<MemberImpl>;

// Scales a published channel count by the width multiplier; full width returns it unchanged.
// Rounds to a multiple of `divisor` (at least `divisor`) so grouped/depthwise convs stay valid.
int64_t scaled_channels(int64_t channels, double width, int64_t divisor = 8);

}  // namespace gradgate
