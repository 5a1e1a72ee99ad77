// Xception (Chollet 2017, "Xception: Deep Learning with Depthwise Separable Convolutions").
// Layers and names follow timm's `legacy_xception` (itself Cadene's port of the Keras model):
// entry flow conv1/conv2 + block1..3, middle flow block4..11, exit flow block12 + conv3/conv4.
// features() ends at `act4`, the ReLU after the last separable conv + BN (Keras
// block14_sepconv2_act); head() is global average pool + `fc`.
// Pooling uses symmetric padding (MaxPool 3/2/1) where Keras pads 'same'; sizes agree for
// the even inputs used here and parameters are unaffected.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "zoo/families.h"
#include "zoo/scratch_init.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;

// Depthwise k x k conv followed by a pointwise 1x1 conv, neither with bias.
class SeparableConv2dImpl : public nn::Module {
 public:
  SeparableConv2dImpl(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
    conv1_ = register_module(
        "conv1", nn::Conv2d(nn::Conv2dOptions(in, in, k).stride(stride).padding(pad).groups(in).bias(false)));
    pointwise_ = register_module("pointwise", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)));
  }
  torch::Tensor forward(torch::Tensor x) { return pointwise_(conv1_(x)); }

 private:
  nn::Conv2d conv1_{nullptr}, pointwise_{nullptr};
};
TORCH_MODULE(SeparableConv2d);

// `reps` x (ReLU, SeparableConv 3x3, BN), optional stride-2 max pool, plus a shortcut that is
// a strided 1x1 conv + BN whenever the shape changes.
class BlockImpl : public nn::Module {
 public:
  BlockImpl(int64_t in, int64_t out, int64_t reps, int64_t stride, bool start_with_relu, bool grow_first) {
    if (out != in || stride != 1) {
      skip_ = register_module("skip", nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
      skipbn_ = register_module("skipbn", nn::BatchNorm2d(out));
    }
    rep_ = nn::Sequential();
    for (int64_t i = 0; i < reps; ++i) {
      int64_t inc, outc;
      if (grow_first) {
        inc = i == 0 ? in : out;
        outc = out;
      } else {
        inc = in;
        outc = i < reps - 1 ? in : out;
      }
      // The block's first ReLU reads x, which the shortcut needs again: out of place (as timm).
      // The later ones overwrite a BN output: in place.
      if (i > 0 || start_with_relu) rep_->push_back(nn::ReLU(nn::ReLUOptions(i > 0)));
      rep_->push_back(SeparableConv2d(inc, outc, 3, 1, 1));
      rep_->push_back(nn::BatchNorm2d(outc));
    }
    if (stride != 1) rep_->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(stride).padding(1)));
    register_module("rep", rep_);
  }

  torch::Tensor forward(torch::Tensor x) {
    auto y = rep_->forward(x);
    y += skip_ ? skipbn_(skip_(x)) : x;  // y is the block's own BN/pool output
    return y;
  }

 private:
  nn::Sequential rep_{nullptr};
  nn::Conv2d skip_{nullptr};
  nn::BatchNorm2d skipbn_{nullptr};
};
TORCH_MODULE(Block);

class XceptionImpl : public MemberImpl {
 public:
  explicit XceptionImpl(const MemberOptions& o) : num_classes_(o.num_classes) {
    auto c = [&](int64_t ch) { return scaled_channels(ch, o.width); };
    conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, c(32), 3).stride(2).bias(false)));
    bn1_ = register_module("bn1", nn::BatchNorm2d(c(32)));
    act1_ = register_module("act1", nn::ReLU(nn::ReLUOptions(true)));
    conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(c(32), c(64), 3).bias(false)));
    bn2_ = register_module("bn2", nn::BatchNorm2d(c(64)));
    act2_ = register_module("act2", nn::ReLU(nn::ReLUOptions(true)));

    auto add_block = [&](int64_t in, int64_t out, int64_t reps, int64_t stride, bool relu_first, bool grow_first) {
      const std::string name = "block" + std::to_string(blocks_.size() + 1);
      blocks_.push_back(register_module(name, Block(c(in), c(out), reps, stride, relu_first, grow_first)));
    };
    add_block(64, 128, 2, 2, false, true);  // entry flow
    add_block(128, 256, 2, 2, true, true);
    add_block(256, 728, 2, 2, true, true);
    for (int i = 0; i < 8; ++i) add_block(728, 728, 3, 1, true, true);  // middle flow
    add_block(728, 1024, 2, 2, true, false);                             // exit flow

    conv3_ = register_module("conv3", SeparableConv2d(c(1024), c(1536), 3, 1, 1));
    bn3_ = register_module("bn3", nn::BatchNorm2d(c(1536)));
    act3_ = register_module("act3", nn::ReLU(nn::ReLUOptions(true)));
    conv4_ = register_module("conv4", SeparableConv2d(c(1536), c(2048), 3, 1, 1));
    bn4_ = register_module("bn4", nn::BatchNorm2d(c(2048)));
    act4_ = register_module("act4", nn::ReLU(nn::ReLUOptions(true)));
    num_features_ = c(2048);
    fc_ = register_module("fc", nn::Linear(num_features_, num_classes_));
    init_from_scratch(*this);
  }

  torch::Tensor features(torch::Tensor x) override { return fine_tail(fine_features(x)); }
  // Stride 16 ends with the middle flow (block11); the exit flow's block12 halves the map.
  torch::Tensor fine_features(torch::Tensor x) override {
    x = act1_(bn1_(conv1_(x)));
    x = act2_(bn2_(conv2_(x)));
    for (std::size_t i = 0; i + 1 < blocks_.size(); ++i) x = blocks_[i](x);
    return x;
  }
  torch::Tensor fine_tail(torch::Tensor a) override {
    auto x = blocks_.back()(a);
    x = act3_(bn3_(conv3_(x)));
    return act4_(bn4_(conv4_(x)));
  }
  std::string fine_layer() const override { return "block11"; }
  torch::Tensor head(torch::Tensor a) override { return fc_(global_avg_pool(a)); }

  void reset_classifier(int64_t num_classes) override {
    fc_ = replace_module("fc", fresh_linear("xception", fc_, num_features_, num_classes, is_training()));
    num_classes_ = num_classes;
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "act4"; }

 private:
  int64_t num_classes_;
  int64_t num_features_ = 0;
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr}, bn4_{nullptr};
  nn::ReLU act1_{nullptr}, act2_{nullptr}, act3_{nullptr}, act4_{nullptr};
  std::vector<Block> blocks_;
  SeparableConv2d conv3_{nullptr}, conv4_{nullptr};
  nn::Linear fc_{nullptr};
};

}  // namespace

Member make_xception(const MemberOptions& o) { return std::make_shared<XceptionImpl>(o); }

}  // namespace gradgate::zoo
