#include "gradgate/zoo/registry.h"

#include <cmath>
#include <functional>
#include <map>

#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate {

int64_t scaled_channels(int64_t channels, double width, int64_t divisor) {
  if (width == 1.0) return channels;
  const double scaled = static_cast<double>(channels) * width;
  int64_t rounded = static_cast<int64_t>(std::lround(scaled / divisor)) * divisor;
  return std::max(divisor, rounded);
}

namespace {

using Factory = std::function<Member(const MemberOptions&)>;

struct Entry {
  MemberInfo info;
  Factory make;
};

// The study's 19 members, in its order. feature_layer is the module (torchvision naming
// where torchvision has the architecture) chosen by the study's rule; matlab_layer is the
// study's name for the same place. config/networks.yaml repeats these (a test keeps them equal).
const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = {
      {{"alexnet", "alexnet", "alexnet", 224, "features.11", "relu5"}, zoo::make_alexnet},
      {{"vgg16", "vgg", "vgg16", 224, "features.29", "relu5_3"}, zoo::make_vgg16},
      {{"vgg19", "vgg", "vgg19", 224, "features.35", "relu5_4"}, zoo::make_vgg19},
      {{"squeezenet", "squeezenet", "squeezenet1_1", 224, "classifier.2", "relu_conv10"},
       zoo::make_squeezenet1_1},
      {{"googlenet", "googlenet", "googlenet", 224, "inception5b", "inception_5b-output"},
       zoo::make_googlenet},
      // Same layers as googlenet; a separate name so it carries its own (Places365) weights.
      {{"googlenet-places", "googlenet", "googlenet", 224, "inception5b", "inception_5b-output"},
       zoo::make_googlenet},
      {{"inceptionv3", "inception_v3", "inception_v3", 299, "Mixed_7c", "mixed10"},
       zoo::make_inception_v3},
      {{"inceptionresnetv2", "inception_resnet_v2", "", 299, "conv2d_7b", "conv_7b_ac"},
       zoo::make_inception_resnet_v2},
      {{"resnet18", "resnet", "resnet18", 224, "layer4", "res5b_relu"}, zoo::make_resnet18},
      {{"resnet50", "resnet", "resnet50", 224, "layer4", "activation_49_relu"}, zoo::make_resnet50},
      {{"resnet101", "resnet", "resnet101", 224, "layer4", "res5c_relu"}, zoo::make_resnet101},
      {{"densenet201", "densenet", "densenet201", 224, "features.norm5", "bn"},
       zoo::make_densenet201},
      {{"mobilenetv2", "mobilenet_v2", "mobilenet_v2", 224, "features.18", "out_relu"},
       zoo::make_mobilenet_v2},
      {{"shufflenet", "shufflenet_v2", "shufflenet_v2_x1_0", 224, "conv5", "node_199"},
       zoo::make_shufflenet_v2_x1_0},
      {{"xception", "xception", "", 299, "act4", "block14_sepconv2_act"}, zoo::make_xception},
      {{"nasnetmobile", "nasnet", "", 224, "relu", "activation_188"}, zoo::make_nasnet_mobile},
      {{"nasnetlarge", "nasnet", "", 331, "relu", "activation_520"}, zoo::make_nasnet_large},
      {{"darknet19", "darknet", "", 256, "leaky18", "leaky18"}, zoo::make_darknet19},
      {{"darknet53", "darknet", "", 256, "res23", "res23"}, zoo::make_darknet53},
  };
  return table;
}

const Entry& find(const std::string& name) {
  for (const auto& e : entries())
    if (e.info.name == name) return e;
  std::string valid;
  for (const auto& e : entries()) valid += (valid.empty() ? "" : ", ") + e.info.name;
  throw ModelError("unknown network '" + name + "'; valid networks: " + valid);
}

}  // namespace

const std::vector<MemberInfo>& member_infos() {
  static const std::vector<MemberInfo> infos = [] {
    std::vector<MemberInfo> v;
    for (const auto& e : entries()) v.push_back(e.info);
    return v;
  }();
  return infos;
}

std::vector<std::string> member_names() {
  std::vector<std::string> names;
  for (const auto& e : entries()) names.push_back(e.info.name);
  return names;
}

const MemberInfo& member_info(const std::string& name) { return find(name).info; }

Member make_member(const std::string& name, const MemberOptions& options) {
  const Entry& e = find(name);
  if (options.num_classes < 1)
    throw ModelError(name + ": num_classes must be >= 1, got " + std::to_string(options.num_classes));
  if (!(options.width > 0.0 && options.width <= 4.0))
    throw ModelError(name + ": width multiplier must be in (0, 4], got " + std::to_string(options.width));
  return e.make(options);
}

}  // namespace gradgate
