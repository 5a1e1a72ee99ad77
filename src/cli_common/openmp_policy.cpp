#include "gradgate/openmp_policy.h"

#include <cstdlib>

#include <unistd.h>

namespace gradgate {

void relaunch_with_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with the default policy
}

}  // namespace gradgate
