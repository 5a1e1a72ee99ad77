// The members built from the papers (no torchvision counterpart) have the published size:
// at full width with 1000 classes their parameter counts equal the published figures.
//
// Keras' "Total params" also counts BatchNorm moving mean/variance (non-trainable); PyTorch
// keeps those as buffers. So for the Keras-published members we check both
//   parameters                      == Keras "Trainable params"
//   parameters + BN running stats   == Keras "Total params" (the Keras applications table)
// Figures: Keras model.summary() of keras.applications (tf.keras 2.x), include_top=True:
//   Xception           total 22,910,480  trainable 22,855,952  non-trainable 54,528
//   InceptionResNetV2  total 55,873,736  trainable 55,813,192  non-trainable 60,544
//   NASNetMobile       total  5,326,716  trainable  5,289,978  non-trainable 36,738
//   NASNetLarge        total 88,949,818  trainable 88,753,150  non-trainable 196,668
// InceptionResNetV2 differs by design: Keras builds its BatchNorms with scale=False (no gamma),
// while Cadene's/timm's port (our naming) has affine BN, i.e. one gamma per BN channel more.
// Keras' 60,544 non-trainable = 2 x 30,272 BN channels, so our parameter count is
// 55,813,192 + 30,272 = 55,843,464 (timm lists inception_resnet_v2 at 55.84M), and our
// parameters minus gammas plus running stats must equal Keras' 55,873,736 exactly.
//
// Darknet: no Keras model; the figures follow from pjreddie's cfg files (BN convs carry
// weights + BN scale + BN bias, the final 1x1 conv weights + bias):
//   darknet19 20,842,376: MathWorks lists DarkNet-19 at 20.8 million parameters.
//   darknet53 41,609,928: MathWorks lists DarkNet-53 at 41.6 million; osmr/imgclsmob (and
//     gluon-cv's darknet53) list exactly 41,609,928.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "gradgate/zoo/registry.h"

using namespace gradgate;

namespace {

struct Counts {
  int64_t params = 0;
  int64_t bn_running = 0;  // running_mean + running_var elements
  int64_t bn_gamma = 0;    // BatchNorm weight elements
};

Counts count(const Member& m) {
  Counts c;
  for (const auto& p : m->named_parameters()) {
    c.params += p.value().numel();
    const auto& key = p.key();
    if (key.size() > 7 && key.compare(key.size() - 7, 7, ".weight") == 0 && p.value().dim() == 1)
      c.bn_gamma += p.value().numel();  // 1-D weights are BatchNorm gammas (no 1-D conv/linear here)
  }
  for (const auto& b : m->named_buffers()) {
    const auto& key = b.key();
    if (key.find("running_mean") != std::string::npos || key.find("running_var") != std::string::npos)
      c.bn_running += b.value().numel();
  }
  return c;
}

Member full(const std::string& name) {
  MemberOptions o;
  o.num_classes = 1000;
  o.width = 1.0;
  return make_member(name, o);
}

}  // namespace

TEST(ZooPublished, XceptionMatchesKeras) {
  const Counts c = count(full("xception"));
  EXPECT_EQ(c.params, 22855952);
  EXPECT_EQ(c.params + c.bn_running, 22910480);
}

TEST(ZooPublished, InceptionResNetV2MatchesKerasUpToBnGammas) {
  const Counts c = count(full("inceptionresnetv2"));
  EXPECT_EQ(c.bn_running, 60544);  // same BN layers as Keras
  EXPECT_EQ(c.bn_gamma, 30272);
  EXPECT_EQ(c.params, 55843464);
  EXPECT_EQ(c.params - c.bn_gamma, 55813192);
  EXPECT_EQ(c.params - c.bn_gamma + c.bn_running, 55873736);
}

TEST(ZooPublished, NasnetMobileMatchesKeras) {
  const Counts c = count(full("nasnetmobile"));
  EXPECT_EQ(c.params, 5289978);
  EXPECT_EQ(c.params + c.bn_running, 5326716);
}

TEST(ZooPublished, NasnetLargeMatchesKeras) {
  const Counts c = count(full("nasnetlarge"));
  EXPECT_EQ(c.params, 88753150);
  EXPECT_EQ(c.params + c.bn_running, 88949818);
}

TEST(ZooPublished, Darknet19MatchesCfg) {
  EXPECT_EQ(count(full("darknet19")).params, 20842376);
}

TEST(ZooPublished, Darknet53MatchesCfg) {
  EXPECT_EQ(count(full("darknet53")).params, 41609928);
}

// Spatial geometry at the native input side matches the published feature maps (Keras
// block14_sepconv2_act 10x10, conv_7b_ac 8x8, NASNet 7x7 / 11x11, darknet 256/32 = 8x8).
// Resolution does not depend on width, so the check runs at width 0.125 to stay cheap.
TEST(ZooPublished, NativeSideGivesPublishedFeatureMapSize) {
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"xception", 10}, {"inceptionresnetv2", 8}, {"nasnetmobile", 7},
      {"nasnetlarge", 11}, {"darknet19", 8},      {"darknet53", 8}};
  torch::NoGradGuard no_grad;
  for (const auto& [name, side] : expected) {
    MemberOptions o;
    o.width = 0.125;
    o.num_classes = 2;
    auto m = make_member(name, o);
    m->eval();
    const int64_t native = member_info(name).native_side;
    auto a = m->features(torch::zeros({1, 3, native, native}));
    EXPECT_EQ(a.size(2), side) << name << " at " << native;
    EXPECT_EQ(a.size(3), side) << name << " at " << native;
  }
}

// The `compact` preset (width 0.25; side 128, 160 for inceptionresnetv2) still leaves Grad-CAM
// a feature map wider than 1x1, and is wider than `tiny` (0.125).
TEST(ZooPresets, CompactFeatureMapIsWiderThanOneByOneAndWiderThanTiny) {
  const std::vector<std::pair<std::string, int64_t>> compact_side = {
      {"xception", 128}, {"inceptionresnetv2", 160}, {"nasnetmobile", 128},
      {"nasnetlarge", 128}, {"darknet19", 128},     {"darknet53", 128}};
  torch::NoGradGuard no_grad;
  for (const auto& [name, side] : compact_side) {
    MemberOptions o;
    o.num_classes = 2;
    o.width = 0.25;
    auto compact = make_member(name, o);
    compact->eval();
    auto a = compact->features(torch::zeros({1, 3, side, side}));
    EXPECT_GT(a.size(2), 1) << name;
    EXPECT_GT(a.size(3), 1) << name;
    o.width = 0.125;
    auto tiny = make_member(name, o);
    tiny->eval();
    EXPECT_GT(a.size(1), tiny->features(torch::zeros({1, 3, side, side})).size(1)) << name;
  }
}
