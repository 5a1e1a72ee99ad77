#pragma once
// Lung masks for the Grad-CAM gate, from three sources tried in this order:
//   1. a mask file: given explicitly (manifest/CSV/CLI), or found beside the image by the
//      naming rule of find_mask_beside();
//   2. the learned lung segmenter (a small U-Net, see lung_segmenter.h), when weights are set;
//   3. the lung atlas (mean training mask) warped into the body's bounding box (lung_atlas.h).
// No torch here.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/enum_names.h"

namespace gradgate {

struct LungMask {
  enum class Source { File, Segmenter, Atlas };

  cv::Mat mask;  // CV_8UC1, 0 or 255, at the image's size
  Source source = Source::Atlas;
  std::vector<std::string> warnings;  // e.g. "mask resized from 512x512 to 224x224"
  // Non-empty when mask_validity() refused the mask (its reason): no member can be judged
  // against it, so the gate gives every member GateStatus::InvalidMask and the task's
  // fallback decides, as for an empty mask. A warning says so too.
  std::string invalid;

  // True when there is no lung pixel at all (or no mask). The gate reports this status
  // instead of scoring members against an empty region.
  bool empty() const;
};

// The one name table: "file" | "segmenter" | "atlas" (results.csv's mask_source column).
inline const EnumNames<LungMask::Source>& lung_mask_source_names() {
  static const EnumNames<LungMask::Source> table("lung mask source",
                                                 {{LungMask::Source::File, "file"},
                                                  {LungMask::Source::Segmenter, "segmenter"},
                                                  {LungMask::Source::Atlas, "atlas"}});
  return table;
}
inline const char* to_string(LungMask::Source source) { return lung_mask_source_names().to_string(source); }

// The naming rule for mask files beside an image `<dir>/<stem>.<ext>`; the first that exists:
//   a. <dir>/<stem>_mask.png
//   b. <dir>/<stem>.mask.png
//   c. <dir>/../masks/<stem>.png                 (a `masks` folder next to the image folder)
//   d. the image path with its nearest `images` folder component replaced by `masks` and the
//      extension by .png (images/kermany/x.jpeg -> masks/kermany/x.png: the cxr set's layout)
std::optional<std::filesystem::path> find_mask_beside(const std::filesystem::path& image);

// Reads a mask file (8- or 16-bit PNG or any image OpenCV reads, 1-4 channels; > 0 = lung)
// as CV_8UC1 0/255. When `image_size` is given and differs, the mask is resized (nearest)
// and a warning is appended to `warnings`. Throws ImageError naming the file when it is
// missing or unreadable.
cv::Mat read_mask_file(const std::filesystem::path& path, std::optional<cv::Size> image_size,
                       std::vector<std::string>* warnings);

// Post-processing shared by the segmenter and the atlas: keeps the two largest 8-connected
// components of a 0/255 mask and fills their holes. Returns CV_8UC1 0/255.
cv::Mat keep_two_largest_and_fill(const cv::Mat& binary);

// Whether a non-empty 0/255 mask can stand for the lungs of its image. Refused, with the
// reason: covering more than kMaxMaskFraction of the image (an all-255 mask, a binarised
// gradient: every map would pass), less than kMinMaskFraction (a speck: every map would
// fail), or fragmented, its two largest 8-connected components holding less than
// kMinMaskLargestTwo of its pixels (sparse noise; lungs are one or two blobs), or ragged,
// more than kMaxMaskEdge of its pixels on its edge (dense noise, which percolates into one
// component). Real masks of the cxr set pass (tests/test_reliability_core.cpp checks 300).
constexpr double kMaxMaskFraction = 0.90;
constexpr double kMinMaskFraction = 0.02;
constexpr double kMinMaskLargestTwo = 0.80;
constexpr double kMaxMaskEdge = 0.50;
struct MaskValidity {
  bool valid = true;
  std::string reason;  // empty when valid: "covers 100% of the image (at most 90%)", ...
};
MaskValidity mask_validity(const cv::Mat& mask);

// Dice overlap of two masks (> 0 = inside) of the same size; 1 when both are empty.
double dice(const cv::Mat& a, const cv::Mat& b);

class LungSegmenter;
class LungAtlas;

struct LungMaskProviderOptions {
  // U-Net weights written by `ensemble-masks train` (models/lung_unet/lung_unet.pt); empty =
  // no segmenter (the atlas is used when no mask file exists).
  std::filesystem::path segmenter_weights;
  // Atlas PNG written by `ensemble-masks atlas` (masks/lung_atlas.png); empty = no atlas.
  std::filesystem::path atlas;
  // Whether for_image() looks for a mask file beside the image (find_mask_beside()).
  bool look_beside_image = true;
};

// The defaults committed in the source tree: models/lung_unet/lung_unet.pt, masks/lung_atlas.png.
LungMaskProviderOptions default_lung_mask_options();

class LungMaskProvider {
 public:
  // Loads the segmenter and the atlas once (throws ModelError/ImageError naming the file).
  explicit LungMaskProvider(LungMaskProviderOptions options);
  ~LungMaskProvider();
  LungMaskProvider(LungMaskProvider&&) noexcept;
  LungMaskProvider& operator=(LungMaskProvider&&) noexcept;

  // `gray`: CV_32FC1 in [0,1] (gradgate::load_gray). With `mask_path` the file is used (an
  // explicit path that cannot be read is an ImageError, not a silent fallback); otherwise the
  // segmenter, otherwise the atlas. Throws ConfigError when neither is configured.
  // Thread-safe: may be called concurrently.
  LungMask get(const cv::Mat& gray, const std::optional<std::filesystem::path>& mask_path = {}) const;

  // As get(), but without an explicit mask also tries find_mask_beside(image_path).
  LungMask for_image(const cv::Mat& gray, const std::filesystem::path& image_path,
                     const std::optional<std::filesystem::path>& mask_path = {}) const;

  bool has_segmenter() const { return segmenter_ != nullptr; }
  bool has_atlas() const { return atlas_ != nullptr; }

 private:
  LungMaskProviderOptions options_;
  std::unique_ptr<LungSegmenter> segmenter_;
  std::unique_ptr<LungAtlas> atlas_;
};

}  // namespace gradgate
