// Darknet classification networks as in pjreddie's cfg/darknet19.cfg and cfg/darknet53.cfg
// (256x256 input, as the study's MATLAB darknet19/darknet53). Every [convolutional] layer with
// batch_normalize=1 is conv (no bias) + BN + leaky ReLU 0.1; names follow MATLAB's layer names
// (convN / bnN / leakyN numbered over the convolutions, resN for the residual additions).
//   Darknet-19 (YOLO9000): 18 conv+BN+leaky layers with 5 max pools; features() ends at
//     `leaky18`; head() is conv19 (1x1, bias, one output per class) + global average pool.
//   Darknet-53 (YOLOv3 backbone): 52 conv+BN+leaky layers (1 stem conv, 5 stride-2 convs, 23
//     residual blocks of 1x1 halving + 3x3 restoring conv, linear shortcut); features() ends
//     at `res23`, the last residual addition; head() is global average pool + conv53 (1x1
//     conv with bias on the pooled vector, the cfg's final layer, i.e. a fully connected one).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "zoo/families.h"
#include "zoo/scratch_init.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;

constexpr double kLeak = 0.1;

// Registers convN / bnN / leakyN on `owner` and returns a callable that applies them. The
// leaky ReLU overwrites the BN output in place (BN saves its input for backward, not its
// output); Darknet-53's residual add stays out of place, as the leaky saved its result.
struct ConvBnLeaky {
  nn::Conv2d conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
  nn::LeakyReLU leaky{nullptr};

  ConvBnLeaky() = default;
  ConvBnLeaky(nn::Module& owner, int index, int64_t in, int64_t out, int64_t k, int64_t stride) {
    const std::string n = std::to_string(index);
    conv = owner.register_module(
        "conv" + n, nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false)));
    bn = owner.register_module("bn" + n, nn::BatchNorm2d(out));
    leaky = owner.register_module("leaky" + n, nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(kLeak).inplace(true)));
  }
  torch::Tensor operator()(const torch::Tensor& x) { return leaky(bn(conv(x))); }
};

class Darknet19Impl : public MemberImpl {
 public:
  explicit Darknet19Impl(const MemberOptions& o) : num_classes_(o.num_classes) {
    auto c = [&](int64_t ch) { return scaled_channels(ch, o.width); };
    // (filters, kernel) per conv; 0 marks a 2x2/2 max pool.
    const std::vector<std::pair<int64_t, int64_t>> cfg = {
        {32, 3},   {0, 0},    {64, 3},   {0, 0},   {128, 3},  {64, 1},  {128, 3}, {0, 0},
        {256, 3},  {128, 1},  {256, 3},  {0, 0},   {512, 3},  {256, 1}, {512, 3}, {256, 1},
        {512, 3},  {0, 0},    {1024, 3}, {512, 1}, {1024, 3}, {512, 1}, {1024, 3}};
    int64_t in = 3;
    int conv_index = 0, pool_index = 0;
    for (const auto& [filters, k] : cfg) {
      if (filters == 0) {
        steps_.push_back(-1);
        pools_.push_back(register_module("pool" + std::to_string(++pool_index),
                                         nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2))));
        continue;
      }
      steps_.push_back(static_cast<int>(convs_.size()));
      convs_.emplace_back(*this, ++conv_index, in, c(filters), k, 1);
      in = c(filters);
    }
    num_features_ = in;
    conv19_ = register_module("conv19", nn::Conv2d(nn::Conv2dOptions(num_features_, num_classes_, 1)));
    init_from_scratch(*this, kLeak);
    conv19_->reset_parameters();  // a classifier, not a feature conv: LibTorch's default init
  }

  torch::Tensor features(torch::Tensor x) override { return fine_tail(fine_features(x)); }
  // Split before the last max pool (stride 16 -> 32): after leaky13.
  torch::Tensor fine_features(torch::Tensor x) override { return run_steps(x, 0, last_pool_step()); }
  torch::Tensor fine_tail(torch::Tensor a) override { return run_steps(a, last_pool_step(), steps_.size()); }  // -> leaky18
  std::string fine_layer() const override { return "leaky13"; }
  torch::Tensor head(torch::Tensor a) override { return global_avg_pool(conv19_(a)); }

  void reset_classifier(int64_t num_classes) override {
    conv19_ = nn::Conv2d(nn::Conv2dOptions(num_features_, num_classes, 1));
    conv19_->to(convs_.front().conv->weight.device());
    replace_module("conv19", conv19_);
    num_classes_ = num_classes;
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "leaky18"; }

 private:
  std::size_t last_pool_step() const {
    std::size_t i = steps_.size();
    while (i > 0 && steps_[i - 1] >= 0) --i;
    return i - 1;
  }
  torch::Tensor run_steps(torch::Tensor x, std::size_t from, std::size_t to) {
    std::size_t pool = 0;
    for (std::size_t i = 0; i < from; ++i) pool += steps_[i] < 0;
    for (std::size_t i = from; i < to; ++i) x = steps_[i] < 0 ? pools_[pool++](x) : convs_[steps_[i]](x);
    return x;
  }

  int64_t num_classes_;
  int64_t num_features_ = 0;
  std::vector<int> steps_;  // index into convs_, or -1 for the next pool
  std::vector<ConvBnLeaky> convs_;
  std::vector<nn::MaxPool2d> pools_;
  nn::Conv2d conv19_{nullptr};
};

// One Darknet-53 residual block: x + (3x3 conv (ch) of 1x1 conv (ch/2) of x), linear shortcut.
class ResidualImpl : public nn::Module {
 public:
  ResidualImpl(int first_conv, int64_t ch, int64_t mid)
      : reduce_(*this, first_conv, ch, mid, 1, 1), expand_(*this, first_conv + 1, mid, ch, 3, 1) {}
  torch::Tensor forward(torch::Tensor x) { return x + expand_(reduce_(x)); }

 private:
  ConvBnLeaky reduce_, expand_;
};
TORCH_MODULE(Residual);

class Darknet53Impl : public MemberImpl {
 public:
  explicit Darknet53Impl(const MemberOptions& o) : num_classes_(o.num_classes) {
    auto c = [&](int64_t ch) { return scaled_channels(ch, o.width); };
    int conv_index = 0, res_index = 0;
    stem_ = ConvBnLeaky(*this, ++conv_index, 3, c(32), 3, 1);
    int64_t in = c(32);
    // (output channels, residual blocks) per stage; each stage starts with a 3x3/2 conv.
    const std::vector<std::pair<int64_t, int>> stages = {{64, 1}, {128, 2}, {256, 8}, {512, 8}, {1024, 4}};
    for (const auto& [ch, blocks] : stages) {
      Stage stage;
      stage.down = ConvBnLeaky(*this, ++conv_index, in, c(ch), 3, 2);
      for (int b = 0; b < blocks; ++b) {
        stage.blocks.push_back(
            register_module("res" + std::to_string(++res_index), Residual(conv_index + 1, c(ch), c(ch / 2))));
        conv_index += 2;
      }
      stages_.push_back(std::move(stage));
      in = c(ch);
    }
    num_features_ = in;
    conv53_ = register_module("conv53", nn::Conv2d(nn::Conv2dOptions(num_features_, num_classes_, 1)));
    init_from_scratch(*this, kLeak);
    conv53_->reset_parameters();  // a classifier, not a feature conv: LibTorch's default init
  }

  torch::Tensor features(torch::Tensor x) override { return fine_tail(fine_features(x)); }
  // Stride 16 ends with stage 4 (res19); stage 5 halves the map.
  torch::Tensor fine_features(torch::Tensor x) override {
    x = stem_(x);
    for (std::size_t s = 0; s + 1 < stages_.size(); ++s) x = run_stage(stages_[s], x);
    return x;
  }
  torch::Tensor fine_tail(torch::Tensor a) override { return run_stage(stages_.back(), a); }  // -> res23
  std::string fine_layer() const override { return "res19"; }
  torch::Tensor head(torch::Tensor a) override {
    return conv53_(torch::adaptive_avg_pool2d(a, {1, 1})).flatten(1);
  }

  void reset_classifier(int64_t num_classes) override {
    conv53_ = nn::Conv2d(nn::Conv2dOptions(num_features_, num_classes, 1));
    conv53_->to(stem_.conv->weight.device());
    replace_module("conv53", conv53_);
    num_classes_ = num_classes;
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "res23"; }

 private:
  struct Stage {
    ConvBnLeaky down;
    std::vector<Residual> blocks;
  };
  int64_t num_classes_;
  int64_t num_features_ = 0;
  static torch::Tensor run_stage(Stage& stage, torch::Tensor x) {
    x = stage.down(x);
    for (auto& block : stage.blocks) x = block(x);
    return x;
  }

  ConvBnLeaky stem_;
  std::vector<Stage> stages_;
  nn::Conv2d conv53_{nullptr};
};

}  // namespace

Member make_darknet19(const MemberOptions& o) { return std::make_shared<Darknet19Impl>(o); }
Member make_darknet53(const MemberOptions& o) { return std::make_shared<Darknet53Impl>(o); }

}  // namespace gradgate::zoo
