#pragma once
// What `ensemble-classify INPUT...` means: image files, folders of images (searched
// recursively, sorted), or a manifest/CSV data set (its images, with their mask files).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gradgate {

struct InputImage {
  std::filesystem::path image;
  std::optional<std::filesystem::path> mask;  // from a manifest/CSV; else looked up beside
  std::string truth;                          // the data set's label when known, else empty
  // "<licence>, <citation>" when a manifest gives the image's licence (shown on its montage:
  // a shipped film carries its attribution wherever it is drawn); else empty.
  std::string credit;
};

// Expands the CLI's INPUT list in order. A missing path is a DatasetError naming it; a
// folder with no images is an error too (almost always a wrong path). Files that are not
// images by extension are still listed when named explicitly: loading them reports why
// they fail, in their own row.
// In a folder: `masks` subfolders and the folders in `exclude` (the run's --out, so a rerun
// never classifies its own montages) are not searched; a mask file by the naming rule
// (`x_mask.png` or `x.mask.png` beside an image `x.*`) is that image's mask (its
// InputImage::mask), not an input; entries that cannot be examined (a symlink loop, a
// dangling link, no permission) are skipped with a line in `warnings` (when given).
std::vector<InputImage> collect_inputs(const std::vector<std::string>& inputs,
                                       const std::vector<std::filesystem::path>& exclude = {},
                                       std::vector<std::string>* warnings = nullptr);

// The same list as collect_inputs, one image at a time: a CSV's rows are read as they are
// taken (a CSV of a million rows costs one row, not a gigabyte), a folder is listed when it is
// reached. The constructor checks what can fail cheaply before a run writes anything: every
// path exists, every CSV opens with a valid header. A folder without images, or a CSV without
// rows, throws DatasetError from next().
class InputStream {
 public:
  InputStream(const std::vector<std::string>& inputs, const std::vector<std::filesystem::path>& exclude = {},
              std::vector<std::string>* warnings = nullptr);
  ~InputStream();
  InputStream(const InputStream&) = delete;
  InputStream& operator=(const InputStream&) = delete;
  bool next(InputImage& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gradgate
