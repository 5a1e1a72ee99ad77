// ResNet-18/50/101 as in torchvision.models.resnet (v1.5: the bottleneck's stride sits on its
// 3x3 conv), split after layer4 (the study's res5b_relu / activation_49_relu / res5c_relu).
// ReLUs and the residual add run in place, as in torchvision: each overwrites a tensor that
// nothing else reads and that autograd did not save (BN saves its input, not its output).
#include <torch/torch.h>

#include <vector>

#include "zoo/families.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  auto c = conv2d(in, out, k, stride, k / 2, /*bias=*/false);
  kaiming_fan_out(c);
  return c;
}

// 1x1 conv + BN on the identity path when shape changes ("downsample.0", "downsample.1").
nn::Sequential downsample(int64_t in, int64_t out, int64_t stride) {
  return nn::Sequential(conv(in, out, 1, stride), nn::BatchNorm2d(out));
}

class BasicBlockImpl : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride) {
    conv1_ = register_module("conv1", conv(in, planes, 3, stride));
    bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
    relu_ = register_module("relu", nn::ReLU(nn::ReLUOptions(true)));
    conv2_ = register_module("conv2", conv(planes, planes, 3, 1));
    bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
    if (stride != 1 || in != planes) downsample_ = register_module("downsample", downsample(in, planes, stride));
  }
  torch::Tensor forward(torch::Tensor x) {
    auto out = relu_(bn1_(conv1_(x)));
    out = bn2_(conv2_(out));
    out += downsample_ ? downsample_->forward(x) : x;  // in place, as torchvision
    return relu_(out);
  }

 private:
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  nn::ReLU relu_{nullptr};
  nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(BasicBlock);

class BottleneckImpl : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in, int64_t planes, int64_t stride) {
    const int64_t out = planes * kExpansion;
    conv1_ = register_module("conv1", conv(in, planes, 1, 1));
    bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
    conv2_ = register_module("conv2", conv(planes, planes, 3, stride));
    bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
    conv3_ = register_module("conv3", conv(planes, out, 1, 1));
    bn3_ = register_module("bn3", nn::BatchNorm2d(out));
    relu_ = register_module("relu", nn::ReLU(nn::ReLUOptions(true)));
    if (stride != 1 || in != out) downsample_ = register_module("downsample", downsample(in, out, stride));
  }
  torch::Tensor forward(torch::Tensor x) {
    auto out = relu_(bn1_(conv1_(x)));
    out = relu_(bn2_(conv2_(out)));
    out = bn3_(conv3_(out));
    out += downsample_ ? downsample_->forward(x) : x;  // in place, as torchvision
    return relu_(out);
  }

 private:
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  nn::ReLU relu_{nullptr};
  nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(Bottleneck);

template <typename Block>
class ResNetImpl : public MemberImpl {
 public:
  ResNetImpl(const std::vector<int64_t>& layers, const MemberOptions& o) : num_classes_(o.num_classes) {
    in_ = scaled_channels(64, o.width);
    conv1_ = register_module("conv1", conv(3, in_, 7, 2));
    bn1_ = register_module("bn1", nn::BatchNorm2d(in_));
    relu_ = register_module("relu", nn::ReLU(nn::ReLUOptions(true)));
    maxpool_ = register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
    const int64_t planes[4] = {64, 128, 256, 512};
    for (int i = 0; i < 4; ++i)
      layer_[i] = register_module("layer" + std::to_string(i + 1),
                                  make_layer(scaled_channels(planes[i], o.width), layers[i], i == 0 ? 1 : 2));
    avgpool_ = register_module("avgpool", nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({1, 1})));
    fc_ = register_module("fc", nn::Linear(in_, num_classes_));
  }

  torch::Tensor features(torch::Tensor x) override { return fine_tail(fine_features(x)); }
  torch::Tensor fine_features(torch::Tensor x) override {
    x = maxpool_(relu_(bn1_(conv1_(x))));
    for (int i = 0; i < 3; ++i) x = layer_[i]->forward(x);
    return x;
  }
  torch::Tensor fine_tail(torch::Tensor a) override { return layer_[3]->forward(a); }
  std::string fine_layer() const override { return "layer3"; }
  torch::Tensor head(torch::Tensor a) override { return fc_(torch::flatten(avgpool_(a), 1)); }

  void reset_classifier(int64_t n) override {
    num_classes_ = n;
    fc_ = replace_module("fc", nn::Linear(in_, n));
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "layer4"; }

 private:
  nn::Sequential make_layer(int64_t planes, int64_t blocks, int64_t stride) {
    nn::Sequential s;
    for (int64_t b = 0; b < blocks; ++b) {
      s->push_back(Block(in_, planes, b == 0 ? stride : 1));
      in_ = planes * Block::ContainedType::kExpansion;
    }
    return s;
  }

  int64_t num_classes_;
  int64_t in_ = 64;  // channels entering the next layer while building; fc's inputs after
  nn::Conv2d conv1_{nullptr};
  nn::BatchNorm2d bn1_{nullptr};
  nn::ReLU relu_{nullptr};
  nn::MaxPool2d maxpool_{nullptr};
  nn::Sequential layer_[4] = {nullptr, nullptr, nullptr, nullptr};
  nn::AdaptiveAvgPool2d avgpool_{nullptr};
  nn::Linear fc_{nullptr};
};

}  // namespace

Member make_resnet18(const MemberOptions& o) {
  return std::make_shared<ResNetImpl<BasicBlock>>(std::vector<int64_t>{2, 2, 2, 2}, o);
}
Member make_resnet50(const MemberOptions& o) {
  return std::make_shared<ResNetImpl<Bottleneck>>(std::vector<int64_t>{3, 4, 6, 3}, o);
}
Member make_resnet101(const MemberOptions& o) {
  return std::make_shared<ResNetImpl<Bottleneck>>(std::vector<int64_t>{3, 4, 23, 3}, o);
}

}  // namespace gradgate::zoo
