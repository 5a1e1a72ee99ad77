#include "image/file_limits.h"

#include <system_error>

#include "gradgate/common/regular_file.h"
#include "gradgate/error.h"
#include "gradgate/image.h"

namespace gradgate::image_detail {

namespace fs = std::filesystem;

void check_image_file(const fs::path& path, const std::string& what) {
  const std::string problem = regular_file_problem(path);
  if (problem == "not found") throw ImageError(what + ": image file not found");
  if (!problem.empty()) throw ImageError(what + ": " + problem);
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) return;  // opening it will say why
  if (size == 0) throw ImageError(what + ": empty file (0 bytes), not an image");
  if (size > kMaxImageFileBytes)
    throw ImageError(what + ": file of " + std::to_string(size >> 20) + " MB is too large for an image (at most " +
                     std::to_string(kMaxImageFileBytes >> 20) + " MB)");
}

void check_image_size(int64_t width, int64_t height, const std::string& what) {
  const int64_t limit = max_image_pixels();
  if (width > kMaxImageSide || height > kMaxImageSide || width * height > limit)
    throw ImageError(what + ": image of " + std::to_string(width) + "x" + std::to_string(height) +
                     " pixels is too large (at most " + std::to_string(kMaxImageSide) +
                     " pixels per side and " + std::to_string(limit) +
                     " pixels in all; refused before decoding)");
}

}  // namespace gradgate::image_detail
