// ShuffleNet V2 1.0x as torchvision builds it (torchvision.models.shufflenet_v2_x1_0: stage
// repeats 4/8/4, channels 24/116/232/464/1024). Module names equal torchvision's state-dict keys.
// The width multiplier scales every stage's channels to a multiple of 8, which keeps them even
// (each unit splits its channels in two halves).
#include <torch/torch.h>

#include "gradgate/error.h"
#include "zoo/families.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv1x1(int64_t in, int64_t out) { return nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)); }
nn::Conv2d depthwise3x3(int64_t ch, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(ch, ch, 3).stride(stride).padding(1).groups(ch).bias(false));
}

// Interleaves the two halves of the channels (groups = 2), as torchvision's channel_shuffle.
torch::Tensor shuffle_halves(const torch::Tensor& x, int64_t groups) {
  const auto n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  return x.view({n, groups, c / groups, h, w}).transpose(1, 2).contiguous().view({n, c, h, w});
}

class InvertedResidualImpl : public nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride) : stride_(stride) {
    const int64_t branch = out / 2;
    if (stride == 1 && in != branch * 2)
      throw ModelError("shufflenet: a stride-1 unit needs in == out (even); got in " + std::to_string(in) +
                       ", out " + std::to_string(out));
    if (stride > 1) {
      branch1 = register_module("branch1", nn::Sequential(depthwise3x3(in, stride), nn::BatchNorm2d(in),
                                                          conv1x1(in, branch), nn::BatchNorm2d(branch),
                                                          nn::ReLU(nn::ReLUOptions(true))));
    }
    // torchvision leaves branch1 an empty Sequential for stride 1: it holds no state, so it is
    // simply absent here.
    branch2 = register_module(
        "branch2", nn::Sequential(conv1x1(stride > 1 ? in : branch, branch), nn::BatchNorm2d(branch),
                                  nn::ReLU(nn::ReLUOptions(true)), depthwise3x3(branch, stride),
                                  nn::BatchNorm2d(branch), conv1x1(branch, branch), nn::BatchNorm2d(branch),
                                  nn::ReLU(nn::ReLUOptions(true))));
  }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor out;
    if (stride_ == 1) {
      auto halves = x.chunk(2, 1);
      out = torch::cat({halves[0], branch2->forward(halves[1])}, 1);
    } else {
      out = torch::cat({branch1->forward(x), branch2->forward(x)}, 1);
    }
    return shuffle_halves(out, 2);
  }
  nn::Sequential branch1{nullptr}, branch2{nullptr};

 private:
  int64_t stride_;
};
TORCH_MODULE(InvertedResidual);

class ShuffleNetV2Impl : public MemberImpl {
 public:
  ShuffleNetV2Impl(const MemberOptions& o, std::vector<int64_t> repeats, std::vector<int64_t> channels)
      : num_classes_(o.num_classes) {
    for (auto& c : channels) c = scaled_channels(c, o.width, 8);
    conv1 = register_module("conv1", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, channels[0], 3)
                                                                   .stride(2)
                                                                   .padding(1)
                                                                   .bias(false)),
                                                    nn::BatchNorm2d(channels[0]), nn::ReLU(nn::ReLUOptions(true))));
    maxpool = register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
    int64_t in = channels[0];
    for (size_t s = 0; s < repeats.size(); ++s) {
      nn::Sequential stage;
      const int64_t out = channels[s + 1];
      stage->push_back(InvertedResidual(in, out, 2));
      for (int64_t i = 1; i < repeats[s]; ++i) stage->push_back(InvertedResidual(out, out, 1));
      stages_.push_back(register_module("stage" + std::to_string(s + 2), stage));
      in = out;
    }
    feature_channels_ = channels.back();
    conv5 = register_module("conv5", nn::Sequential(conv1x1(in, feature_channels_),
                                                    nn::BatchNorm2d(feature_channels_),
                                                    nn::ReLU(nn::ReLUOptions(true))));
    fc = register_module("fc", nn::Linear(feature_channels_, num_classes_));
    // torchvision keeps PyTorch's default initialisation for this model.
  }

  torch::Tensor features(torch::Tensor x) override { return fine_tail(fine_features(x)); }
  torch::Tensor fine_features(torch::Tensor x) override {
    x = maxpool(conv1->forward(x));
    for (std::size_t i = 0; i + 1 < stages_.size(); ++i) x = stages_[i]->forward(x);
    return x;
  }
  torch::Tensor fine_tail(torch::Tensor a) override { return conv5->forward(stages_.back()->forward(a)); }
  std::string fine_layer() const override { return "stage3"; }

  torch::Tensor head(torch::Tensor a) override { return fc(a.mean({2, 3})); }

  void reset_classifier(int64_t n) override {
    fc = replace_module("fc", fresh_linear("shufflenet", fc, feature_channels_, n, is_training()));
    num_classes_ = n;
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "conv5"; }

 private:
  int64_t num_classes_;
  int64_t feature_channels_ = 0;
  nn::Sequential conv1{nullptr};
  nn::MaxPool2d maxpool{nullptr};
  std::vector<nn::Sequential> stages_;
  nn::Sequential conv5{nullptr};
  nn::Linear fc{nullptr};
};

}  // namespace

Member make_shufflenet_v2_x1_0(const MemberOptions& o) {
  return std::make_shared<ShuffleNetV2Impl>(o, std::vector<int64_t>{4, 8, 4},
                                            std::vector<int64_t>{24, 116, 232, 464, 1024});
}

}  // namespace gradgate::zoo
