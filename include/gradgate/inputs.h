#pragma once
// What `ensemble-classify INPUT...` means: image files, folders of images (searched
// recursively, sorted), or a manifest/CSV data set (its images, with their mask files).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gradgate {

struct InputImage {
  std::filesystem::path image;
  std::optional<std::filesystem::path> mask;  // from a manifest/CSV; else looked up beside
  std::string truth;                          // the data set's label when known, else empty
};

// File name extensions taken as images when a folder is searched (lower case, with dot).
const std::vector<std::string>& image_extensions();

// Expands the CLI's INPUT list in order. A missing path is a DatasetError naming it; a
// folder with no images is an error too (almost always a wrong path). Files that are not
// images by extension are still listed when named explicitly: loading them reports why
// they fail, in their own row.
std::vector<InputImage> collect_inputs(const std::vector<std::string>& inputs);

}  // namespace gradgate
