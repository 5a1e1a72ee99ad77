// The test binary's main: the same process set-up as the tools (process_policy.h: passive
// OpenMP waits, freed memory kept), so the suite is not slowed 10x by spinning threads.
#include <gtest/gtest.h>

#include "process_policy.h"

int main(int argc, char** argv) {
  gradgate::prepare_process(argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
