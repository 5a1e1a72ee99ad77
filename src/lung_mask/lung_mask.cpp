// LungMask and the committed mask sources' paths: torch-free (gradgate_core). The provider,
// which builds the U-Net segmenter, is in provider.cpp.
#include "gradgate/lung_mask.h"

#include <opencv2/core.hpp>

#include "gradgate/config.h"

namespace gradgate {

bool LungMask::empty() const { return mask.empty() || cv::countNonZero(mask) == 0; }

LungMaskProviderOptions default_lung_mask_options() {
  LungMaskProviderOptions o;
  o.segmenter_weights = data_home() / "models" / "lung_unet" / "lung_unet.pt";
  o.atlas = data_home() / "masks" / "lung_atlas.png";
  return o;
}

}  // namespace gradgate
