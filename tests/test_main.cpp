// The test binary's main: the same OpenMP wait policy as the tools (openmp_policy.h), so
// the suite is not slowed 10x by spinning threads when both cores are busy.
#include <gtest/gtest.h>

#include "gradgate/openmp_policy.h"

int main(int argc, char** argv) {
  gradgate::relaunch_with_passive_openmp(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
