#include "gradgate/common/png.h"

#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "gradgate/common/atomic_file.h"
#include "gradgate/error.h"

namespace gradgate {

std::string encode_png(const cv::Mat& image, const std::filesystem::path& path) {
  std::vector<uchar> buf;
  bool ok = false;
  try {
    ok = !image.empty() && cv::imencode(".png", image, buf);
  } catch (const cv::Exception& e) {
    throw ImageError("cannot write " + path.string() + ": PNG encoding failed (" + e.what() + ")");
  }
  if (!ok) throw ImageError("cannot write " + path.string() + ": PNG encoding failed");
  return std::string(buf.begin(), buf.end());
}

void write_png_file(const std::filesystem::path& path, const cv::Mat& image) {
  write_file_atomic(path, encode_png(image, path));
}

}  // namespace gradgate
