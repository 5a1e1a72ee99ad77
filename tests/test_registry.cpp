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
