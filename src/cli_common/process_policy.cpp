#include "process_policy.h"

#include <climits>
#include <cstdlib>
#include <cstring>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/oflog/oflog.h>
#include <malloc.h>
#include <opencv2/core/utils/logger.hpp>
#include <unistd.h>

namespace gradgate {
namespace {

void relaunch_with_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with the default policy
}

void keep_freed_memory() {
  const char* v = std::getenv("GRADGATE_MALLOC");
  if (v && std::strcmp(v, "default") == 0) return;
  // The threshold and the trim setting only help together (bench/README.md, "The
  // allocator"). mallopt returns 0 when it refuses a value: the process then runs as with
  // glibc's defaults, slower but correct, so a refusal is not an error.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  mallopt(M_ARENA_MAX, 1);
}

}  // namespace

// OpenCV's and DCMTK's own log lines (OpenCV: "imdecode_: can't read header", DCMTK: parser
// warnings) only repeat what the ImageError of that file already says, in a row of its own.
void quiet_library_logs() {
  using namespace cv::utils::logging;
  if (getLogLevel() > LOG_LEVEL_ERROR) setLogLevel(LOG_LEVEL_ERROR);
  OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
}

void prepare_process(char** argv) {
  relaunch_with_passive_openmp(argv);
  keep_freed_memory();
  quiet_library_logs();
}

}  // namespace gradgate
