#include <gtest/gtest.h>

#include "gradgate/error.h"
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
