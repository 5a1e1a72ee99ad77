// libFuzzer: the image container checks, then decoding as load_gray does (limits first).
#include <cstdint>
#include <vector>

#include "fuzz_util.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "image/container_check.h"
#include "process_policy.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gradgate::quiet_library_logs();  // as the tools: no decoder warnings per input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  (void)gradgate::image_detail::check_container(bytes);
  try {
    gradgate::load_gray(gradgate::fuzz::scratch(data, size, ".img"));
  } catch (const gradgate::Error&) {
  }
  return 0;
}
