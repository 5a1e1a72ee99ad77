// LungMaskProvider: mask file, else segmenter, else atlas. It builds the segmenter, so it
// is torch (gradgate); LungMask itself and the default paths are core (lung_mask.cpp).
#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/lung_atlas.h"
#include "gradgate/lung_mask.h"
#include "gradgate/lung_segmenter.h"

namespace gradgate {

LungMaskProvider::LungMaskProvider(LungMaskProviderOptions options) : options_(std::move(options)) {
  if (!options_.segmenter_weights.empty())
    segmenter_ = std::make_unique<LungSegmenter>(options_.segmenter_weights);
  if (!options_.atlas.empty()) atlas_ = std::make_unique<LungAtlas>(LungAtlas::load(options_.atlas));
}

LungMaskProvider::~LungMaskProvider() = default;
LungMaskProvider::LungMaskProvider(LungMaskProvider&&) noexcept = default;
LungMaskProvider& LungMaskProvider::operator=(LungMaskProvider&&) noexcept = default;

LungMask LungMaskProvider::get(const cv::Mat& gray, const std::optional<std::filesystem::path>& mask_path) const {
  if (gray.empty()) throw ImageError("lung mask: empty image");
  LungMask out;
  if (mask_path) {
    out.source = LungMask::Source::File;
    out.mask = read_mask_file(*mask_path, gray.size(), &out.warnings);
  } else if (segmenter_) {
    out.source = LungMask::Source::Segmenter;
    out.mask = segmenter_->segment(gray);
  } else if (atlas_) {
    out.source = LungMask::Source::Atlas;
    out.mask = atlas_->place(gray, &out.warnings);
  } else {
    throw ConfigError("lung mask: no mask file for the image and neither a segmenter nor an atlas configured");
  }
  if (out.empty()) {
    out.warnings.push_back(std::string("lung mask from ") + to_string(out.source) + " is empty");
  } else if (const MaskValidity v = mask_validity(out.mask); !v.valid) {
    // Every source is checked: a file may be anything, and the U-Net can fail on an odd film.
    out.invalid = v.reason;
    out.warnings.push_back(std::string("lung mask from ") + to_string(out.source) + " not used: " +
                           v.reason + "; the gate judges no member on this image (fallback decides)");
  }
  return out;
}

LungMask LungMaskProvider::for_image(const cv::Mat& gray, const std::filesystem::path& image_path,
                                     const std::optional<std::filesystem::path>& mask_path) const {
  if (mask_path || !options_.look_beside_image) return get(gray, mask_path);
  return get(gray, find_mask_beside(image_path));
}

}  // namespace gradgate
