// libFuzzer: a models folder's manifest.yaml through load_models_manifest.
#include <cstdint>

#include "fuzz_util.h"
#include "gradgate/error.h"
#include "gradgate/store/models_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gradgate::load_models_manifest(gradgate::fuzz::scratch(data, size, ".yaml"), gradgate::WeightFiles::may_be_missing);
  } catch (const gradgate::Error&) {
  }
  return 0;
}
