#include "gradgate/inputs.h"

#include <algorithm>

#include "gradgate/dataset.h"
#include "gradgate/error.h"

namespace gradgate {

namespace fs = std::filesystem;

namespace {

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

bool is_image_file(const fs::path& p) {
  const auto& exts = image_extensions();
  return std::find(exts.begin(), exts.end(), lower_ext(p)) != exts.end();
}

}  // namespace

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> exts = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"};
  return exts;
}

std::vector<InputImage> collect_inputs(const std::vector<std::string>& inputs) {
  std::vector<InputImage> out;
  for (const auto& arg : inputs) {
    const fs::path p(arg);
    std::error_code ec;
    if (!fs::exists(p, ec)) throw DatasetError("input not found: " + arg);
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        // Mask folders beside images are masks, not inputs.
        if (it->is_directory() && it->path().filename() == "masks") {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && is_image_file(it->path())) found.push_back(it->path());
      }
      if (found.empty()) throw DatasetError("no images (" + std::to_string(image_extensions().size()) +
                                            " extensions: .png .jpg .jpeg .bmp .tif .tiff) under folder " + arg);
      std::sort(found.begin(), found.end());
      for (auto& f : found) out.push_back({fs::absolute(f), std::nullopt, ""});
    } else if (lower_ext(p) == ".csv") {
      auto ds = open_dataset(p);
      auto reader = ds->reader();
      Sample s;
      size_t before = out.size();
      while (reader->next(s)) out.push_back({s.image, s.mask, s.diagnosis});
      if (out.size() == before) throw DatasetError("no rows in data set " + arg);
    } else {
      out.push_back({fs::absolute(p), std::nullopt, ""});
    }
  }
  return out;
}

}  // namespace gradgate
