// Inception-ResNet-v2 (Szegedy et al. 2016, "Inception-v4, Inception-ResNet and the Impact of
// Residual Connections on Learning"), with Cadene's pretrained-models.pytorch layer names:
// stem conv2d_1a..conv2d_4a, mixed_5b, repeat (10 x Block35), mixed_6a, repeat_1 (20 x Block17),
// mixed_7a, repeat_2 (9 x Block8), block8 (no ReLU), conv2d_7b, last_linear.
// features() ends at `conv2d_7b` (Keras conv_7b_ac); head() is global average pool +
// last_linear. Cadene pools with a fixed AvgPool2d(8), which only fits 299 inputs; the global
// pool is the same there and lets the smaller presets run.
#include <torch/torch.h>

#include <string>

#include "zoo/families.h"
#include "zoo/scratch_init.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;
using torch::ExpandingArray;
using EA = ExpandingArray<2>;

// conv (no bias) + BN (eps 1e-3, as the TF original) + ReLU. ReLUs here and in the residual
// blocks run in place: each overwrites a fresh tensor autograd did not save.
class BasicConv2dImpl : public nn::Module {
 public:
  BasicConv2dImpl(int64_t in, int64_t out, ExpandingArray<2> k, ExpandingArray<2> stride = 1,
                  ExpandingArray<2> pad = 0) {
    conv_ = register_module(
        "conv", nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false)));
    bn_ = register_module("bn", nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(1e-3).momentum(0.1)));
    relu_ = register_module("relu", nn::ReLU(nn::ReLUOptions(true)));
  }
  torch::Tensor forward(torch::Tensor x) { return relu_(bn_(conv_(x))); }

 private:
  nn::Conv2d conv_{nullptr};
  nn::BatchNorm2d bn_{nullptr};
  nn::ReLU relu_{nullptr};
};
TORCH_MODULE(BasicConv2d);

nn::Sequential seq(std::initializer_list<BasicConv2d> convs) {
  nn::Sequential s;
  for (const auto& c : convs) s->push_back(c);
  return s;
}

// Width-scaled channel count.
struct Widths {
  double width;
  int64_t operator()(int64_t ch) const { return scaled_channels(ch, width); }
};

// 35x35 stem output: four branches concatenated (published: 96+64+96+64 = 320).
class Mixed5bImpl : public nn::Module {
 public:
  Mixed5bImpl(int64_t in, const Widths& c) {
    b0_ = register_module("branch0", BasicConv2d(in, c(96), 1));
    b1_ = register_module("branch1", seq({BasicConv2d(in, c(48), 1), BasicConv2d(c(48), c(64), 5, 1, 2)}));
    b2_ = register_module("branch2", seq({BasicConv2d(in, c(64), 1), BasicConv2d(c(64), c(96), 3, 1, 1),
                                          BasicConv2d(c(96), c(96), 3, 1, 1)}));
    b3_ = register_module("branch3", nn::Sequential(nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false)),
                                                    BasicConv2d(in, c(64), 1)));
    out_channels = c(96) + c(64) + c(96) + c(64);
  }
  torch::Tensor forward(torch::Tensor x) {
    return torch::cat({b0_(x), b1_->forward(x), b2_->forward(x), b3_->forward(x)}, 1);
  }
  int64_t out_channels;

 private:
  BasicConv2d b0_{nullptr};
  nn::Sequential b1_{nullptr}, b2_{nullptr}, b3_{nullptr};
};
TORCH_MODULE(Mixed5b);

// Inception-ResNet-A (35x35): relu(x + scale * conv2d(cat(branches))).
class Block35Impl : public nn::Module {
 public:
  Block35Impl(int64_t ch, const Widths& c, double scale) : scale_(scale) {
    b0_ = register_module("branch0", BasicConv2d(ch, c(32), 1));
    b1_ = register_module("branch1", seq({BasicConv2d(ch, c(32), 1), BasicConv2d(c(32), c(32), 3, 1, 1)}));
    b2_ = register_module("branch2", seq({BasicConv2d(ch, c(32), 1), BasicConv2d(c(32), c(48), 3, 1, 1),
                                          BasicConv2d(c(48), c(64), 3, 1, 1)}));
    conv2d_ = register_module("conv2d", nn::Conv2d(nn::Conv2dOptions(c(32) + c(32) + c(64), ch, 1)));
    relu_ = register_module("relu", nn::ReLU(nn::ReLUOptions(true)));
  }
  torch::Tensor forward(torch::Tensor x) {
    auto out = conv2d_(torch::cat({b0_(x), b1_->forward(x), b2_->forward(x)}, 1));
    return relu_(out.mul_(scale_).add_(x));  // the conv output is fresh: reuse it
  }

 private:
  double scale_;
  BasicConv2d b0_{nullptr};
  nn::Sequential b1_{nullptr}, b2_{nullptr};
  nn::Conv2d conv2d_{nullptr};
  nn::ReLU relu_{nullptr};
};
TORCH_MODULE(Block35);

// Reduction-A (35 -> 17): published 384 + 384 + 320 = 1088 channels.
class Mixed6aImpl : public nn::Module {
 public:
  Mixed6aImpl(int64_t in, const Widths& c) {
    b0_ = register_module("branch0", BasicConv2d(in, c(384), 3, 2));
    b1_ = register_module("branch1", seq({BasicConv2d(in, c(256), 1), BasicConv2d(c(256), c(256), 3, 1, 1),
                                          BasicConv2d(c(256), c(384), 3, 2)}));
    b2_ = register_module("branch2", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2)));
    out_channels = c(384) + c(384) + in;
  }
  torch::Tensor forward(torch::Tensor x) { return torch::cat({b0_(x), b1_->forward(x), b2_(x)}, 1); }
  int64_t out_channels;

 private:
  BasicConv2d b0_{nullptr};
  nn::Sequential b1_{nullptr};
  nn::MaxPool2d b2_{nullptr};
};
TORCH_MODULE(Mixed6a);

// Inception-ResNet-B (17x17) with factorised 1x7 / 7x1 convolutions.
class Block17Impl : public nn::Module {
 public:
  Block17Impl(int64_t ch, const Widths& c, double scale) : scale_(scale) {
    b0_ = register_module("branch0", BasicConv2d(ch, c(192), 1));
    b1_ = register_module("branch1", seq({BasicConv2d(ch, c(128), 1),
                                          BasicConv2d(c(128), c(160), EA({1, 7}), 1, EA({0, 3})),
                                          BasicConv2d(c(160), c(192), EA({7, 1}), 1, EA({3, 0}))}));
    conv2d_ = register_module("conv2d", nn::Conv2d(nn::Conv2dOptions(c(192) + c(192), ch, 1)));
    relu_ = register_module("relu", nn::ReLU(nn::ReLUOptions(true)));
  }
  torch::Tensor forward(torch::Tensor x) {
    auto out = conv2d_(torch::cat({b0_(x), b1_->forward(x)}, 1));
    return relu_(out.mul_(scale_).add_(x));  // the conv output is fresh: reuse it
  }

 private:
  double scale_;
  BasicConv2d b0_{nullptr};
  nn::Sequential b1_{nullptr};
  nn::Conv2d conv2d_{nullptr};
  nn::ReLU relu_{nullptr};
};
TORCH_MODULE(Block17);

// Reduction-B (17 -> 8): published 384 + 288 + 320 + 1088 = 2080 channels.
class Mixed7aImpl : public nn::Module {
 public:
  Mixed7aImpl(int64_t in, const Widths& c) {
    b0_ = register_module("branch0", seq({BasicConv2d(in, c(256), 1), BasicConv2d(c(256), c(384), 3, 2)}));
    b1_ = register_module("branch1", seq({BasicConv2d(in, c(256), 1), BasicConv2d(c(256), c(288), 3, 2)}));
    b2_ = register_module("branch2", seq({BasicConv2d(in, c(256), 1), BasicConv2d(c(256), c(288), 3, 1, 1),
                                          BasicConv2d(c(288), c(320), 3, 2)}));
    b3_ = register_module("branch3", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2)));
    out_channels = c(384) + c(288) + c(320) + in;
  }
  torch::Tensor forward(torch::Tensor x) {
    return torch::cat({b0_->forward(x), b1_->forward(x), b2_->forward(x), b3_(x)}, 1);
  }
  int64_t out_channels;

 private:
  nn::Sequential b0_{nullptr}, b1_{nullptr}, b2_{nullptr};
  nn::MaxPool2d b3_{nullptr};
};
TORCH_MODULE(Mixed7a);

// Inception-ResNet-C (8x8) with factorised 1x3 / 3x1 convolutions; the last one has no ReLU.
class Block8Impl : public nn::Module {
 public:
  Block8Impl(int64_t ch, const Widths& c, double scale, bool relu) : scale_(scale) {
    b0_ = register_module("branch0", BasicConv2d(ch, c(192), 1));
    b1_ = register_module("branch1", seq({BasicConv2d(ch, c(192), 1),
                                          BasicConv2d(c(192), c(224), EA({1, 3}), 1, EA({0, 1})),
                                          BasicConv2d(c(224), c(256), EA({3, 1}), 1, EA({1, 0}))}));
    conv2d_ = register_module("conv2d", nn::Conv2d(nn::Conv2dOptions(c(192) + c(256), ch, 1)));
    if (relu) relu_ = register_module("relu", nn::ReLU(nn::ReLUOptions(true)));
  }
  torch::Tensor forward(torch::Tensor x) {
    auto out = conv2d_(torch::cat({b0_(x), b1_->forward(x)}, 1)).mul_(scale_).add_(x);
    return relu_ ? relu_(out) : out;
  }

 private:
  double scale_;
  BasicConv2d b0_{nullptr};
  nn::Sequential b1_{nullptr};
  nn::Conv2d conv2d_{nullptr};
  nn::ReLU relu_{nullptr};
};
TORCH_MODULE(Block8);

class InceptionResNetV2Impl : public MemberImpl {
 public:
  explicit InceptionResNetV2Impl(const MemberOptions& o) : num_classes_(o.num_classes) {
    const Widths c{o.width};
    conv2d_1a_ = register_module("conv2d_1a", BasicConv2d(3, c(32), 3, 2));
    conv2d_2a_ = register_module("conv2d_2a", BasicConv2d(c(32), c(32), 3));
    conv2d_2b_ = register_module("conv2d_2b", BasicConv2d(c(32), c(64), 3, 1, 1));
    maxpool_3a_ = register_module("maxpool_3a", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2)));
    conv2d_3b_ = register_module("conv2d_3b", BasicConv2d(c(64), c(80), 1));
    conv2d_4a_ = register_module("conv2d_4a", BasicConv2d(c(80), c(192), 3));
    maxpool_5a_ = register_module("maxpool_5a", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2)));
    mixed_5b_ = register_module("mixed_5b", Mixed5b(c(192), c));
    int64_t ch = mixed_5b_->out_channels;
    repeat_ = nn::Sequential();
    for (int i = 0; i < 10; ++i) repeat_->push_back(Block35(ch, c, 0.17));
    register_module("repeat", repeat_);
    mixed_6a_ = register_module("mixed_6a", Mixed6a(ch, c));
    ch = mixed_6a_->out_channels;
    repeat_1_ = nn::Sequential();
    for (int i = 0; i < 20; ++i) repeat_1_->push_back(Block17(ch, c, 0.10));
    register_module("repeat_1", repeat_1_);
    mixed_7a_ = register_module("mixed_7a", Mixed7a(ch, c));
    ch = mixed_7a_->out_channels;
    repeat_2_ = nn::Sequential();
    for (int i = 0; i < 9; ++i) repeat_2_->push_back(Block8(ch, c, 0.20, true));
    register_module("repeat_2", repeat_2_);
    block8_ = register_module("block8", Block8(ch, c, 1.0, false));
    num_features_ = c(1536);
    conv2d_7b_ = register_module("conv2d_7b", BasicConv2d(ch, num_features_, 1));
    last_linear_ = register_module("last_linear", nn::Linear(num_features_, num_classes_));
    init_from_scratch(*this);
  }

  torch::Tensor features(torch::Tensor x) override { return fine_tail(fine_features(x)); }
  torch::Tensor fine_features(torch::Tensor x) override {
    x = conv2d_2b_(conv2d_2a_(conv2d_1a_(x)));
    x = conv2d_4a_(conv2d_3b_(maxpool_3a_(x)));
    x = mixed_5b_(maxpool_5a_(x));
    return repeat_1_->forward(mixed_6a_(repeat_->forward(x)));
  }
  torch::Tensor fine_tail(torch::Tensor a) override {
    return conv2d_7b_(block8_(repeat_2_->forward(mixed_7a_(a))));
  }
  std::string fine_layer() const override { return "repeat_1"; }
  torch::Tensor head(torch::Tensor a) override { return last_linear_(global_avg_pool(a)); }

  void reset_classifier(int64_t num_classes) override {
    last_linear_ = replace_module("last_linear", fresh_linear("inceptionresnetv2", last_linear_, num_features_,
                                                              num_classes, is_training()));
    num_classes_ = num_classes;
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "conv2d_7b"; }

 private:
  int64_t num_classes_;
  int64_t num_features_ = 0;
  BasicConv2d conv2d_1a_{nullptr}, conv2d_2a_{nullptr}, conv2d_2b_{nullptr}, conv2d_3b_{nullptr},
      conv2d_4a_{nullptr}, conv2d_7b_{nullptr};
  nn::MaxPool2d maxpool_3a_{nullptr}, maxpool_5a_{nullptr};
  Mixed5b mixed_5b_{nullptr};
  Mixed6a mixed_6a_{nullptr};
  Mixed7a mixed_7a_{nullptr};
  nn::Sequential repeat_{nullptr}, repeat_1_{nullptr}, repeat_2_{nullptr};
  Block8 block8_{nullptr};
  nn::Linear last_linear_{nullptr};
};

}  // namespace

Member make_inception_resnet_v2(const MemberOptions& o) { return std::make_shared<InceptionResNetV2Impl>(o); }

}  // namespace gradgate::zoo
