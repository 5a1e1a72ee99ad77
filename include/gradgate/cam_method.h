#pragma once
// Which saliency method explains a member's prediction, and its names. Torch-free, so the
// configuration, the classify request and the report hold the enum without torch
// (gradcam.h computes the maps).
#include <string>

#include "gradgate/enum_names.h"

namespace gradgate {

enum class CamMethod {
  GradCam,          // w_c = mean_ij dY/dA_cij;                 map = ReLU(sum_c w_c A_c)
  GradCamPlusPlus,  // Chattopadhyay et al. 2018 (exp-score closed form, as pytorch-grad-cam)
  HiResCam,         // map = ReLU(sum_c dY/dA_c * A_c)  (element-wise, no spatial averaging)
  // map = sum_c (dY/dx_c)^2 at the input's resolution (Simonyan et al. 2014, squared as in
  // "right for the right reasons"): the whole member is differentiated, about 3x a forward
  // pass, but the map has one cell per input pixel, where a feature layer has 8x8 at 128 px.
  // A marker of a few pixels can hold a measurable share of it.
  Saliency,
};

// The one name table: "gradcam" | "gradcampp" | "hirescam" | "saliency" (the first is the default);
// from_string also takes "grad-cam", "gradcam++" and "grad-cam++".
inline const EnumNames<CamMethod>& cam_method_names() {
  static const EnumNames<CamMethod> table("CAM method", {{CamMethod::GradCam, "gradcam"},
                                                         {CamMethod::GradCamPlusPlus, "gradcampp"},
                                                         {CamMethod::HiResCam, "hirescam"},
                                                         {CamMethod::Saliency, "saliency"},
                                                         {CamMethod::GradCam, "grad-cam"},
                                                         {CamMethod::GradCamPlusPlus, "gradcam++"},
                                                         {CamMethod::GradCamPlusPlus, "grad-cam++"}});
  return table;
}
inline const char* to_string(CamMethod m) { return cam_method_names().to_string(m); }
// Case-insensitive; throws ConfigError listing the valid names otherwise.
inline CamMethod cam_method_from_string(const std::string& s) { return cam_method_names().from_string(s); }

// Which layer the map is taken at. `fine`: the stride-16 split of members whose study layer
// is at stride 32 (zoo/member.h: fine_features/fine_tail), grids of 8x8 at 128 px instead of
// 4x4, for the cost of differentiating their last stage; `study`: the study's layer.
enum class CamLayer { Fine, Study };

inline const EnumNames<CamLayer>& cam_layer_names() {
  static const EnumNames<CamLayer> table("CAM layer", {{CamLayer::Fine, "fine"}, {CamLayer::Study, "study"}});
  return table;
}
inline const char* to_string(CamLayer l) { return cam_layer_names().to_string(l); }

}  // namespace gradgate
