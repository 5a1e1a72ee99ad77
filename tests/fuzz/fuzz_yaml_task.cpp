// libFuzzer: a task file (config/tasks/*.yaml) through its validating reader.
#include <cstdint>

#include "fuzz_util.h"
#include "gradgate/config.h"
#include "gradgate/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gradgate::load_task_config(gradgate::fuzz::scratch(data, size, ".yaml"), "/tmp");
  } catch (const gradgate::Error&) {
  }
  return 0;
}
