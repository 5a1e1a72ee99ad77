// Members built in src/zoo/{googlenet,inception_v3,densenet,mobilenet_v2,shufflenet_v2}.cpp:
// split shapes at the small input sides, the features/head contract, classifier reset, and
// parameter counts / state-dict key counts at full width against torchvision's.
// (Numerical parity with torchvision is checked by the Parity tests.)
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <tuple>
#include <string>

#include "gradgate/zoo/registry.h"

using namespace gradgate;

namespace {

struct Case {
  std::string name;
  int64_t tiny_side;     // smallest input side the presets use
  int64_t tiny_map;      // feature-map side expected there
  int64_t compact_side;  // compact preset side
  int64_t compact_map;
  int64_t full_map;      // at the native side
  // torchvision figures at full width, 1000 classes (see ExpectedCounts below for sources).
  int64_t params;
  size_t state_dict_keys;
  double bn_eps;
  std::string sample_key;  // one deep torchvision state-dict key
};

// params: sum(p.numel() for p in model.parameters()), keys: len(model.state_dict()), measured
// with torchvision 0.14 on googlenet(aux_logits=False), inception_v3(aux_logits=False),
// densenet201(), mobilenet_v2(), shufflenet_v2_x1_0(). The param counts equal the num_params
// in torchvision's weight metadata, except inception_v3 whose 27,161,264 includes AuxLogits.
const Case kCases[] = {
    {"googlenet", 96, 3, 128, 4, 7, 6624904, 344, 1e-3, "inception5b.branch4.1.bn.running_var"},
    {"googlenet-places", 96, 3, 128, 4, 7, 6624904, 344, 1e-3, "inception4e.branch3.1.conv.weight"},
    {"inceptionv3", 160, 3, 160, 3, 8, 23834568, 566, 1e-3, "Mixed_7c.branch3x3dbl_3b.bn.running_mean"},
    {"densenet201", 64, 2, 128, 4, 7, 20013928, 1207, 1e-5, "features.denseblock4.denselayer32.conv2.weight"},
    {"mobilenetv2", 64, 2, 128, 4, 7, 3504872, 314, 1e-5, "features.18.1.num_batches_tracked"},
    {"shufflenet", 64, 2, 128, 4, 7, 2278604, 338, 1e-5, "stage2.0.branch1.2.weight"},
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// The presets' widths (tiny 0.125, compact 0.25), as tests/test_zoo_common.cpp uses them.
constexpr double kTinyWidth = 0.125;
constexpr double kCompactWidth = 0.25;

std::set<std::string> state_dict_keys(const Member& m) {
  std::set<std::string> keys;
  for (const auto& p : m->named_parameters()) keys.insert(p.key());
  for (const auto& b : m->named_buffers()) keys.insert(b.key());
  return keys;
}

class ZooB : public ::testing::TestWithParam<Case> {};

TEST_P(ZooB, SplitsAtTheStudysLayerWithSpatialMapAtSmallSides) {
  const Case& c = GetParam();
  EXPECT_EQ(make_member(c.name, {3, kTinyWidth, 0})->feature_layer(), member_info(c.name).feature_layer);
  torch::NoGradGuard no_grad;
  // (width, side, expected map side): tiny and compact presets, and the native side (at tiny
  // width to stay cheap: the geometry does not depend on width).
  const int64_t native = member_info(c.name).native_side;
  for (auto [width, side, map] : {std::tuple{kTinyWidth, c.tiny_side, c.tiny_map},
                                  std::tuple{kCompactWidth, c.compact_side, c.compact_map},
                                  std::tuple{kTinyWidth, native, c.full_map}}) {
    auto m = make_member(c.name, {3, width, side});
    m->eval();
    auto a = m->features(torch::randn({2, 3, side, side}));
    ASSERT_EQ(a.dim(), 4);
    EXPECT_EQ(a.size(0), 2);
    EXPECT_EQ(a.size(2), map) << c.name << " at side " << side;
    EXPECT_EQ(a.size(3), map) << c.name << " at side " << side;
    EXPECT_GT(a.size(2), 1);
    EXPECT_EQ(m->head(a).sizes(), (std::vector<int64_t>{2, 3}));
  }
}

TEST_P(ZooB, ForwardIsHeadOfFeatures) {
  const Case& c = GetParam();
  auto m = make_member(c.name, {4, kTinyWidth, c.tiny_side});
  m->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 3, c.tiny_side, c.tiny_side});
  auto y = m->forward(x);
  auto a = m->features(x);
  EXPECT_TRUE(torch::allclose(y, m->head(a)));
  // Two different images must give different feature maps (the member uses its input). Relative
  // test: torchvision's GoogLeNet init (std 0.01) makes untrained activations tiny.
  EXPECT_GT((a[0] - a[1]).abs().max().item<double>(), 1e-3 * a.abs().max().item<double>());
}

TEST_P(ZooB, HeadIsDifferentiableWithRespectToTheFeatureMap) {
  const Case& c = GetParam();
  auto m = make_member(c.name, {2, kTinyWidth, c.tiny_side});
  m->eval();
  torch::Tensor a;
  {
    torch::NoGradGuard no_grad;
    a = m->features(torch::randn({1, 3, c.tiny_side, c.tiny_side}));
  }
  auto a_copy = a.clone();
  a.requires_grad_(true);
  auto y = m->head(a);
  y.index({0, 1}).backward();
  ASSERT_TRUE(a.grad().defined());
  EXPECT_EQ(a.grad().sizes(), a.sizes());
  EXPECT_GT(a.grad().abs().sum().item<double>(), 0.0);
  // head() must not modify the activation in place (Grad-CAM reuses it).
  EXPECT_TRUE(torch::equal(a.detach(), a_copy));
}

TEST_P(ZooB, TrainingStepReachesEveryParameter) {
  const Case& c = GetParam();
  auto m = make_member(c.name, {2, kTinyWidth, c.tiny_side});
  m->train();
  auto y = m->forward(torch::randn({2, 3, c.tiny_side, c.tiny_side}));
  torch::nn::functional::cross_entropy(y, torch::tensor({0, 1})).backward();
  for (const auto& p : m->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
}

TEST_P(ZooB, ResetClassifierChangesTheOutputCount) {
  const Case& c = GetParam();
  auto m = make_member(c.name, {1000, kTinyWidth, c.tiny_side});
  EXPECT_EQ(m->num_classes(), 1000);
  const auto keys_before = state_dict_keys(m);
  const std::string last_before = m->named_parameters().keys().back();
  m->eval();
  m->reset_classifier(5);
  EXPECT_EQ(m->num_classes(), 5);
  EXPECT_EQ(state_dict_keys(m), keys_before);  // same torchvision names
  // The classifier stays the last registered module (the weight loader finds it there).
  EXPECT_EQ(m->named_parameters().keys().back(), last_before);
  EXPECT_EQ(m->named_parameters().values().back().size(0), 5);
  torch::NoGradGuard no_grad;
  auto y = m->forward(torch::randn({2, 3, c.tiny_side, c.tiny_side}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_FALSE(m->is_training());
  for (const auto& child : m->modules()) EXPECT_FALSE(child->is_training());
}

TEST_P(ZooB, FullWidthMatchesTorchvisionCounts) {
  const Case& c = GetParam();
  auto m = make_member(c.name, {1000, 1.0, 0});
  int64_t params = 0;
  for (const auto& p : m->parameters()) params += p.numel();
  EXPECT_EQ(params, c.params);
  const auto keys = state_dict_keys(m);
  EXPECT_EQ(keys.size(), c.state_dict_keys);
  EXPECT_TRUE(keys.count(c.sample_key)) << c.sample_key;
  // BatchNorm eps as torchvision sets it (1e-3 for the Inception family).
  int bns = 0;
  for (const auto& mod : m->modules(false))
    if (auto* bn = mod->as<torch::nn::BatchNorm2d>()) {
      ++bns;
      EXPECT_DOUBLE_EQ(bn->options.eps(), c.bn_eps);
    }
  EXPECT_GT(bns, 0);
}

INSTANTIATE_TEST_SUITE_P(Members, ZooB, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n = info.param.name;
                           for (auto& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(ZooB, WidthScalesChannelsAndKeepsShuffleNetSplitsEven) {
  // ShuffleNet units split channels in halves: every width must give even channel counts.
  for (double w : {0.1, 0.25, 0.3, 0.5, 0.75, 1.5}) {
    auto m = make_member("shufflenet", {2, w, 64});
    m->eval();
    torch::NoGradGuard no_grad;
    auto a = m->features(torch::randn({1, 3, 64, 64}));
    EXPECT_EQ(a.size(1) % 2, 0) << "width " << w;
  }
  // Narrower members have fewer channels at the feature layer; full width is torchvision's.
  for (const char* name : {"googlenet", "densenet201", "inceptionv3"}) {
    auto narrow = make_member(name, {2, 0.25, 0});
    auto full = make_member(name, {2, 1.0, 0});
    EXPECT_EQ(narrow->parameters().size(), full->parameters().size())
        << name << ": width must not change the layer structure";
    int64_t n_narrow = 0, n_full = 0;
    for (const auto& p : narrow->parameters()) n_narrow += p.numel();
    for (const auto& p : full->parameters()) n_full += p.numel();
    EXPECT_LT(n_narrow * 4, n_full) << name;
  }
}

// mobilenet_v2's width is torchvision's width_mult (its channel rounding, last conv at 1280).
TEST(ZooB, MobileNetV2WidthFollowsTorchvisionWidthMult) {
  auto m = make_member("mobilenetv2", {1000, 0.5, 0});
  int64_t params = 0;
  for (const auto& p : m->parameters()) params += p.numel();
  // sum(p.numel()) of torchvision.models.mobilenet_v2(width_mult=0.5), torchvision 0.14.
  EXPECT_EQ(params, 1968680);
}

}  // namespace
