#pragma once
// The identity of every member of the zoo: the one table naming the 19 members, the family
// that builds each, its torchvision counterpart, published input side and Grad-CAM layer.
// No torch here (configuration loaders check member names against it).
#include <cstdint>
#include <string>
#include <vector>

namespace gradgate {

struct MemberInfo {
  std::string name;          // e.g. "resnet18", "googlenet-places"
  std::string family;        // source file under src/zoo/ that builds it
  std::string torchvision;   // torchvision constructor name, empty when torchvision lacks it
  int64_t native_side;       // input side of the published architecture
  std::string feature_layer; // module (torchvision naming) at which features() stops: Grad-CAM's layer
  std::string matlab_layer;  // the study's MATLAB layer name for the same place
};

// All 19 members, in the study's order.
const std::vector<MemberInfo>& member_infos();
std::vector<std::string> member_names();
// Throws ModelError naming the unknown member and listing the valid ones.
const MemberInfo& member_info(const std::string& name);

}  // namespace gradgate
