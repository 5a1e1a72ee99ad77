// Inception v3 as torchvision builds it (torchvision.models.inception_v3 with aux_logits=False,
// transform_input=False). Module names equal torchvision's state-dict keys; the auxiliary
// classifier (AuxLogits) is left out, as torchvision does with aux_logits=False.
#include <torch/torch.h>

#include "gradgate/zoo/seeded_dropout.h"
#include "gradgate/error.h"
#include "zoo/families.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

using torch::ExpandingArray;

// conv (no bias) -> BN (eps 1e-3, as torchvision) -> ReLU (in place, as torchvision).
class BasicConv2dImpl : public torch::nn::Module {
 public:
  BasicConv2dImpl(int64_t in, int64_t out, ExpandingArray<2> kernel, ExpandingArray<2> stride = 1,
                  ExpandingArray<2> padding = 0)
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

// Channel scaling shared by the blocks: c(n) is torchvision's n at the member's width.
struct Width {
  double w;
  int64_t operator()(int64_t n) const { return scaled_channels(n, w); }
};

// An asymmetric kernel/padding (ModuleHolder's forwarding constructor cannot take a braced list).
ExpandingArray<2> K(int64_t h, int64_t w) { return ExpandingArray<2>({h, w}); }

// Builds one BasicConv2d and registers it under torchvision's name.
#define GG_CONV(name, ...) name = register_module(#name, BasicConv2d(__VA_ARGS__))

torch::Tensor avg3(const torch::Tensor& x) { return torch::avg_pool2d(x, 3, 1, 1); }
torch::Tensor max3s2(const torch::Tensor& x) { return torch::max_pool2d(x, 3, 2); }

class InceptionAImpl : public torch::nn::Module {
 public:
  InceptionAImpl(int64_t in, int64_t pool_features, Width c)
      : out_channels(c(64) + c(64) + c(96) + pool_features) {
    GG_CONV(branch1x1, in, c(64), 1);
    GG_CONV(branch5x5_1, in, c(48), 1);
    GG_CONV(branch5x5_2, c(48), c(64), 5, 1, 2);
    GG_CONV(branch3x3dbl_1, in, c(64), 1);
    GG_CONV(branch3x3dbl_2, c(64), c(96), 3, 1, 1);
    GG_CONV(branch3x3dbl_3, c(96), c(96), 3, 1, 1);
    GG_CONV(branch_pool, in, pool_features, 1);
  }
  torch::Tensor forward(torch::Tensor x) {
    return torch::cat({branch1x1(x), branch5x5_2(branch5x5_1(x)),
                       branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x))), branch_pool(avg3(x))},
                      1);
  }
  const int64_t out_channels;
  BasicConv2d branch1x1{nullptr}, branch5x5_1{nullptr}, branch5x5_2{nullptr}, branch3x3dbl_1{nullptr},
      branch3x3dbl_2{nullptr}, branch3x3dbl_3{nullptr}, branch_pool{nullptr};
};
TORCH_MODULE(InceptionA);

class InceptionBImpl : public torch::nn::Module {
 public:
  InceptionBImpl(int64_t in, Width c) : out_channels(c(384) + c(96) + in) {
    GG_CONV(branch3x3, in, c(384), 3, 2);
    GG_CONV(branch3x3dbl_1, in, c(64), 1);
    GG_CONV(branch3x3dbl_2, c(64), c(96), 3, 1, 1);
    GG_CONV(branch3x3dbl_3, c(96), c(96), 3, 2);
  }
  torch::Tensor forward(torch::Tensor x) {
    return torch::cat(
        {branch3x3(x), branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x))), max3s2(x)}, 1);
  }
  const int64_t out_channels;
  BasicConv2d branch3x3{nullptr}, branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr}, branch3x3dbl_3{nullptr};
};
TORCH_MODULE(InceptionB);

class InceptionCImpl : public torch::nn::Module {
 public:
  InceptionCImpl(int64_t in, int64_t c7, Width c) : out_channels(4 * c(192)) {
    GG_CONV(branch1x1, in, c(192), 1);
    GG_CONV(branch7x7_1, in, c7, 1);
    GG_CONV(branch7x7_2, c7, c7, K(1, 7), 1, K(0, 3));
    GG_CONV(branch7x7_3, c7, c(192), K(7, 1), 1, K(3, 0));
    GG_CONV(branch7x7dbl_1, in, c7, 1);
    GG_CONV(branch7x7dbl_2, c7, c7, K(7, 1), 1, K(3, 0));
    GG_CONV(branch7x7dbl_3, c7, c7, K(1, 7), 1, K(0, 3));
    GG_CONV(branch7x7dbl_4, c7, c7, K(7, 1), 1, K(3, 0));
    GG_CONV(branch7x7dbl_5, c7, c(192), K(1, 7), 1, K(0, 3));
    GG_CONV(branch_pool, in, c(192), 1);
  }
  torch::Tensor forward(torch::Tensor x) {
    auto b7 = branch7x7_3(branch7x7_2(branch7x7_1(x)));
    auto b7dbl = branch7x7dbl_1(x);
    b7dbl = branch7x7dbl_5(branch7x7dbl_4(branch7x7dbl_3(branch7x7dbl_2(b7dbl))));
    return torch::cat({branch1x1(x), b7, b7dbl, branch_pool(avg3(x))}, 1);
  }
  const int64_t out_channels;
  BasicConv2d branch1x1{nullptr}, branch7x7_1{nullptr}, branch7x7_2{nullptr}, branch7x7_3{nullptr},
      branch7x7dbl_1{nullptr}, branch7x7dbl_2{nullptr}, branch7x7dbl_3{nullptr}, branch7x7dbl_4{nullptr},
      branch7x7dbl_5{nullptr}, branch_pool{nullptr};
};
TORCH_MODULE(InceptionC);

class InceptionDImpl : public torch::nn::Module {
 public:
  InceptionDImpl(int64_t in, Width c) : out_channels(c(320) + c(192) + in) {
    GG_CONV(branch3x3_1, in, c(192), 1);
    GG_CONV(branch3x3_2, c(192), c(320), 3, 2);
    GG_CONV(branch7x7x3_1, in, c(192), 1);
    GG_CONV(branch7x7x3_2, c(192), c(192), K(1, 7), 1, K(0, 3));
    GG_CONV(branch7x7x3_3, c(192), c(192), K(7, 1), 1, K(3, 0));
    GG_CONV(branch7x7x3_4, c(192), c(192), 3, 2);
  }
  torch::Tensor forward(torch::Tensor x) {
    auto b3 = branch3x3_2(branch3x3_1(x));
    auto b7 = branch7x7x3_4(branch7x7x3_3(branch7x7x3_2(branch7x7x3_1(x))));
    return torch::cat({b3, b7, max3s2(x)}, 1);
  }
  const int64_t out_channels;
  BasicConv2d branch3x3_1{nullptr}, branch3x3_2{nullptr}, branch7x7x3_1{nullptr}, branch7x7x3_2{nullptr},
      branch7x7x3_3{nullptr}, branch7x7x3_4{nullptr};
};
TORCH_MODULE(InceptionD);

class InceptionEImpl : public torch::nn::Module {
 public:
  InceptionEImpl(int64_t in, Width c) : out_channels(c(320) + 4 * c(384) + c(192)) {
    GG_CONV(branch1x1, in, c(320), 1);
    GG_CONV(branch3x3_1, in, c(384), 1);
    GG_CONV(branch3x3_2a, c(384), c(384), K(1, 3), 1, K(0, 1));
    GG_CONV(branch3x3_2b, c(384), c(384), K(3, 1), 1, K(1, 0));
    GG_CONV(branch3x3dbl_1, in, c(448), 1);
    GG_CONV(branch3x3dbl_2, c(448), c(384), 3, 1, 1);
    GG_CONV(branch3x3dbl_3a, c(384), c(384), K(1, 3), 1, K(0, 1));
    GG_CONV(branch3x3dbl_3b, c(384), c(384), K(3, 1), 1, K(1, 0));
    GG_CONV(branch_pool, in, c(192), 1);
  }
  torch::Tensor forward(torch::Tensor x) {
    auto b3 = branch3x3_1(x);
    b3 = torch::cat({branch3x3_2a(b3), branch3x3_2b(b3)}, 1);
    auto bd = branch3x3dbl_2(branch3x3dbl_1(x));
    bd = torch::cat({branch3x3dbl_3a(bd), branch3x3dbl_3b(bd)}, 1);
    return torch::cat({branch1x1(x), b3, bd, branch_pool(avg3(x))}, 1);
  }
  const int64_t out_channels;
  BasicConv2d branch1x1{nullptr}, branch3x3_1{nullptr}, branch3x3_2a{nullptr}, branch3x3_2b{nullptr},
      branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr}, branch3x3dbl_3a{nullptr}, branch3x3dbl_3b{nullptr},
      branch_pool{nullptr};
};
TORCH_MODULE(InceptionE);

#undef GG_CONV

class Inception3Impl : public MemberImpl {
 public:
  explicit Inception3Impl(const MemberOptions& o) : num_classes_(o.num_classes) {
    const Width c{o.width};
    Conv2d_1a_3x3 = register_module("Conv2d_1a_3x3", BasicConv2d(3, c(32), 3, 2));
    Conv2d_2a_3x3 = register_module("Conv2d_2a_3x3", BasicConv2d(c(32), c(32), 3));
    Conv2d_2b_3x3 = register_module("Conv2d_2b_3x3", BasicConv2d(c(32), c(64), 3, 1, 1));
    maxpool1 = register_module("maxpool1", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2)));
    Conv2d_3b_1x1 = register_module("Conv2d_3b_1x1", BasicConv2d(c(64), c(80), 1));
    Conv2d_4a_3x3 = register_module("Conv2d_4a_3x3", BasicConv2d(c(80), c(192), 3));
    maxpool2 = register_module("maxpool2", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2)));
    Mixed_5b = register_module("Mixed_5b", InceptionA(c(192), c(32), c));
    Mixed_5c = register_module("Mixed_5c", InceptionA(Mixed_5b->out_channels, c(64), c));
    Mixed_5d = register_module("Mixed_5d", InceptionA(Mixed_5c->out_channels, c(64), c));
    Mixed_6a = register_module("Mixed_6a", InceptionB(Mixed_5d->out_channels, c));
    Mixed_6b = register_module("Mixed_6b", InceptionC(Mixed_6a->out_channels, c(128), c));
    Mixed_6c = register_module("Mixed_6c", InceptionC(Mixed_6b->out_channels, c(160), c));
    Mixed_6d = register_module("Mixed_6d", InceptionC(Mixed_6c->out_channels, c(160), c));
    Mixed_6e = register_module("Mixed_6e", InceptionC(Mixed_6d->out_channels, c(192), c));
    Mixed_7a = register_module("Mixed_7a", InceptionD(Mixed_6e->out_channels, c));
    Mixed_7b = register_module("Mixed_7b", InceptionE(Mixed_7a->out_channels, c));
    Mixed_7c = register_module("Mixed_7c", InceptionE(Mixed_7b->out_channels, c));
    feature_channels_ = Mixed_7c->out_channels;
    dropout = register_module("dropout", SeededDropout(0.5));
    fc = register_module("fc", torch::nn::Linear(feature_channels_, num_classes_));

    // torchvision's init: truncated normal (std 0.1, cut at +-2) for conv and linear weights,
    // BN weight 1 / bias 0; linear biases keep the default init.
    init_inception_style(*this, fc->weight, 0.1);
  }

  torch::Tensor features(torch::Tensor x) override { return fine_tail(fine_features(x)); }
  torch::Tensor fine_features(torch::Tensor x) override {
    x = Conv2d_2b_3x3(Conv2d_2a_3x3(Conv2d_1a_3x3(x)));
    x = maxpool1(x);
    x = maxpool2(Conv2d_4a_3x3(Conv2d_3b_1x1(x)));
    x = Mixed_5d(Mixed_5c(Mixed_5b(x)));
    return Mixed_6e(Mixed_6d(Mixed_6c(Mixed_6b(Mixed_6a(x)))));
  }
  torch::Tensor fine_tail(torch::Tensor a) override { return Mixed_7c(Mixed_7b(Mixed_7a(a))); }
  std::string fine_layer() const override { return "Mixed_6e"; }

  torch::Tensor head(torch::Tensor a) override {
    auto x = dropout(torch::adaptive_avg_pool2d(a, {1, 1}));
    return fc(x.flatten(1));
  }

  void reset_classifier(int64_t n) override {
    auto fresh = fresh_linear("inceptionv3", fc, feature_channels_, n, is_training(),
                              [](torch::nn::Linear& l) { init_weight(l->weight); });
    fc = replace_module("fc", fresh);
    num_classes_ = n;
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "Mixed_7c"; }

 private:
  static void init_weight(torch::Tensor& w) { truncated_normal_(w, 0.1); }

  int64_t num_classes_;
  int64_t feature_channels_ = 0;
  BasicConv2d Conv2d_1a_3x3{nullptr}, Conv2d_2a_3x3{nullptr}, Conv2d_2b_3x3{nullptr}, Conv2d_3b_1x1{nullptr},
      Conv2d_4a_3x3{nullptr};
  torch::nn::MaxPool2d maxpool1{nullptr}, maxpool2{nullptr};
  InceptionA Mixed_5b{nullptr}, Mixed_5c{nullptr}, Mixed_5d{nullptr};
  InceptionB Mixed_6a{nullptr};
  InceptionC Mixed_6b{nullptr}, Mixed_6c{nullptr}, Mixed_6d{nullptr}, Mixed_6e{nullptr};
  InceptionD Mixed_7a{nullptr};
  InceptionE Mixed_7b{nullptr}, Mixed_7c{nullptr};
  SeededDropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
};

}  // namespace

Member make_inception_v3(const MemberOptions& o) { return std::make_shared<Inception3Impl>(o); }

}  // namespace gradgate::zoo
