#include <gtest/gtest.h>

#include "gradgate/error.h"
#include "gradgate/config.h"
#include "gradgate/zoo/registry.h"

using namespace gradgate;

TEST(Registry, NamesTheStudys19Members) {
  const auto names = member_names();
  ASSERT_EQ(names.size(), 19u);
  EXPECT_EQ(names.front(), "alexnet");
  EXPECT_EQ(names.back(), "darknet53");
}

TEST(Registry, UnknownNetworkListsValidOnes) {
  try {
    make_member("resnet9000");
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("resnet9000"), std::string::npos);
    EXPECT_NE(msg.find("darknet53"), std::string::npos);
  }
}

// The grid the gate works on: resnet18 has stride 32 at layer4 (torchvision: 7x7 at 224).
TEST(Registry, FeatureGridIsTheFeatureMapSize) {
  Member full = make_member("resnet18", {2, 1.0, 224});
  EXPECT_EQ(feature_grid(full, 224), cv::Size(7, 7));
  Member compact = make_member("resnet18", {2, 0.25, 128});
  EXPECT_EQ(feature_grid(compact, 128), cv::Size(4, 4));
  EXPECT_TRUE(compact->is_training());  // measuring leaves the module's mode as it was
  EXPECT_EQ(feature_grid(compact, 128, CamLayer::Fine), cv::Size(8, 8));
}

// Issue 12: at the default preset (compact) every member's map at the default layer (fine)
// has at least 7x7 cells.
TEST(Registry, EveryMembersFineGridIsAtLeast7x7AtCompact) {
  const NetworksConfig nets = load_networks_config(default_config_dir() / "networks.yaml");
  for (const auto& name : member_names()) {
    const PresetSpec p = nets.preset(name, "compact");
    Member m = make_member(name, {2, p.width, p.input_side});
    const cv::Size g = feature_grid(m, p.input_side, CamLayer::Fine);
    EXPECT_GE(std::min(g.width, g.height), 7) << name << " at " << p.input_side << " px: " << g;
  }
}

// Issue 13 (size): at compact, alexnet's and vgg's hidden classifier layers are 256 units
// (networks.yaml classifier_width), which keeps a vgg's half-precision file under 6 MB (17 MB
// with 1,024-unit layers); other members and
// other presets keep classifier_width unset (= width).
TEST(Registry, CompactAlexnetAndVggHaveA256UnitClassifier) {
  const NetworksConfig nets = load_networks_config(default_config_dir() / "networks.yaml");
  for (const std::string name : {"alexnet", "vgg16", "vgg19"}) {
    const PresetSpec p = nets.preset(name, "compact");
    Member m = make_member(name, {2, p.width, p.input_side, p.classifier_width});
    const auto params = m->named_parameters();
    const std::string first = name == "alexnet" ? "classifier.1.weight" : "classifier.0.weight";
    ASSERT_TRUE(params.contains(first)) << name;
    EXPECT_EQ(params[first].size(0), 256) << name;
    int64_t n = 0;
    for (const auto& t : m->parameters()) n += t.numel();
    EXPECT_LT(n * 2, 6'000'000) << name << ": " << n << " parameters";
    EXPECT_EQ(nets.preset(name, "full").classifier_width, 0.0) << name;
  }
  EXPECT_EQ(nets.preset("resnet18", "compact").classifier_width, 0.0);
}
