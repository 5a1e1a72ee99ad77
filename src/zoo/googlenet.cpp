// GoogLeNet (Inception v1) as torchvision builds it (torchvision.models.googlenet with
// aux_logits=False, transform_input=False). Module names equal torchvision's state-dict keys.
// Used by both `googlenet` and `googlenet-places` (same layers, different weights).
//
// Note: torchvision's "5x5" branch (branch3) uses a 3x3 kernel; that is a known quirk of
// torchvision kept for weight compatibility, and reproduced here on purpose.
#include <torch/torch.h>

#include "gradgate/zoo/seeded_dropout.h"
#include "gradgate/error.h"
#include "zoo/families.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

// conv (no bias) -> BN (eps 1e-3, as torchvision) -> ReLU (in place, as torchvision).
class BasicConv2dImpl : public torch::nn::Module {
 public:
  BasicConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0)
      : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                                           .stride(stride)
                                                           .padding(padding)
                                                           .bias(false)))),
        bn(register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(1e-3)))) {}
  torch::Tensor forward(torch::Tensor x) { return bn(conv(x)).relu_(); }

  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
};
TORCH_MODULE(BasicConv2d);

class InceptionImpl : public torch::nn::Module {
 public:
  InceptionImpl(int64_t in, int64_t ch1x1, int64_t ch3x3red, int64_t ch3x3, int64_t ch5x5red,
                int64_t ch5x5, int64_t pool_proj)
      : out_channels(ch1x1 + ch3x3 + ch5x5 + pool_proj) {
    branch1 = register_module("branch1", BasicConv2d(in, ch1x1, 1));
    branch2 = register_module(
        "branch2", torch::nn::Sequential(BasicConv2d(in, ch3x3red, 1), BasicConv2d(ch3x3red, ch3x3, 3, 1, 1)));
    branch3 = register_module(
        "branch3", torch::nn::Sequential(BasicConv2d(in, ch5x5red, 1), BasicConv2d(ch5x5red, ch5x5, 3, 1, 1)));
    branch4 = register_module(
        "branch4",
        torch::nn::Sequential(
            torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(1).padding(1).ceil_mode(true)),
            BasicConv2d(in, pool_proj, 1)));
  }
  torch::Tensor forward(torch::Tensor x) {
    return torch::cat({branch1(x), branch2->forward(x), branch3->forward(x), branch4->forward(x)}, 1);
  }

  const int64_t out_channels;
  BasicConv2d branch1{nullptr};
  torch::nn::Sequential branch2{nullptr}, branch3{nullptr}, branch4{nullptr};
};
TORCH_MODULE(Inception);

torch::nn::MaxPool2d ceil_pool(int64_t kernel) {
  return torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(kernel).stride(2).ceil_mode(true));
}

class GoogLeNetImpl : public MemberImpl {
 public:
  explicit GoogLeNetImpl(const MemberOptions& o) : num_classes_(o.num_classes) {
    auto c = [&](int64_t ch) { return scaled_channels(ch, o.width); };
    // Inception(in, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool proj), torchvision's table.
    auto block = [&](const char* name, int64_t in, int64_t a, int64_t b, int64_t d, int64_t e, int64_t f,
                     int64_t g) {
      return register_module(name, Inception(in, c(a), c(b), c(d), c(e), c(f), c(g)));
    };
    conv1 = register_module("conv1", BasicConv2d(3, c(64), 7, 2, 3));
    maxpool1 = register_module("maxpool1", ceil_pool(3));
    conv2 = register_module("conv2", BasicConv2d(c(64), c(64), 1));
    conv3 = register_module("conv3", BasicConv2d(c(64), c(192), 3, 1, 1));
    maxpool2 = register_module("maxpool2", ceil_pool(3));
    inception3a = block("inception3a", c(192), 64, 96, 128, 16, 32, 32);
    inception3b = block("inception3b", inception3a->out_channels, 128, 128, 192, 32, 96, 64);
    maxpool3 = register_module("maxpool3", ceil_pool(3));
    inception4a = block("inception4a", inception3b->out_channels, 192, 96, 208, 16, 48, 64);
    inception4b = block("inception4b", inception4a->out_channels, 160, 112, 224, 24, 64, 64);
    inception4c = block("inception4c", inception4b->out_channels, 128, 128, 256, 24, 64, 64);
    inception4d = block("inception4d", inception4c->out_channels, 112, 144, 288, 32, 64, 64);
    inception4e = block("inception4e", inception4d->out_channels, 256, 160, 320, 32, 128, 128);
    maxpool4 = register_module("maxpool4", ceil_pool(2));
    inception5a = block("inception5a", inception4e->out_channels, 256, 160, 320, 32, 128, 128);
    inception5b = block("inception5b", inception5a->out_channels, 384, 192, 384, 48, 128, 128);
    feature_channels_ = inception5b->out_channels;
    dropout = register_module("dropout", SeededDropout(0.2));
    fc = register_module("fc", torch::nn::Linear(feature_channels_, num_classes_));

    // torchvision's init: truncated normal (std 0.01, cut at +-2) for conv and linear
    // weights, BN weight 1 / bias 0; linear biases keep the default init.
    init_inception_style(*this, fc->weight, 0.01);
  }

  torch::Tensor features(torch::Tensor x) override { return fine_tail(fine_features(x)); }
  torch::Tensor fine_features(torch::Tensor x) override {
    x = maxpool1(conv1(x));
    x = maxpool2(conv3(conv2(x)));
    x = maxpool3(inception3b(inception3a(x)));
    return inception4e(inception4d(inception4c(inception4b(inception4a(x)))));
  }
  torch::Tensor fine_tail(torch::Tensor a) override { return inception5b(inception5a(maxpool4(a))); }
  std::string fine_layer() const override { return "inception4e"; }

  torch::Tensor head(torch::Tensor a) override {
    auto x = torch::adaptive_avg_pool2d(a, {1, 1}).flatten(1);
    return fc(dropout(x));
  }

  void reset_classifier(int64_t n) override {
    auto fresh = fresh_linear("googlenet", fc, feature_channels_, n, is_training(),
                              [](torch::nn::Linear& l) { init_weight(l->weight); });
    fc = replace_module("fc", fresh);
    num_classes_ = n;
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "inception5b"; }

 private:
  static void init_weight(torch::Tensor& w) { truncated_normal_(w, 0.01); }

  int64_t num_classes_;
  int64_t feature_channels_ = 0;
  BasicConv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::MaxPool2d maxpool1{nullptr}, maxpool2{nullptr}, maxpool3{nullptr}, maxpool4{nullptr};
  Inception inception3a{nullptr}, inception3b{nullptr}, inception4a{nullptr}, inception4b{nullptr},
      inception4c{nullptr}, inception4d{nullptr}, inception4e{nullptr}, inception5a{nullptr},
      inception5b{nullptr};
  SeededDropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
};

}  // namespace

Member make_googlenet(const MemberOptions& o) { return std::make_shared<GoogLeNetImpl>(o); }

}  // namespace gradgate::zoo
