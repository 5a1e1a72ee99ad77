// libFuzzer: a CSV data set (manifest or plain path,label) opened and read to the end.
#include <cstdint>

#include "fuzz_util.h"
#include "gradgate/dataset.h"
#include "gradgate/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto ds = gradgate::open_dataset(gradgate::fuzz::scratch(data, size, ".csv"));
    auto reader = ds->reader();
    gradgate::Sample s;
    while (reader->next(s)) {
    }
  } catch (const gradgate::Error&) {
  }
  return 0;
}
