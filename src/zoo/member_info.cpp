// The one table of member identities (include/gradgate/zoo/member_info.h). The factories
// that build the members are keyed by these names in registry.cpp; config/networks.yaml
// holds only the size presets and the normalisation.
#include "gradgate/zoo/member_info.h"

#include "gradgate/error.h"

namespace gradgate {

// The study's 19 members, in its order. feature_layer is the module (torchvision naming
// where torchvision has the architecture) chosen by the study's rule (last ReLU with a
// non-singleton map, or the last layer gathering ReLU outputs; densenet201: its final batch
// norm); matlab_layer is the study's name for the same place.
const std::vector<MemberInfo>& member_infos() {
  static const std::vector<MemberInfo> table = {
      {"alexnet", "alexnet", "alexnet", 224, "features.11", "relu5"},
      {"vgg16", "vgg", "vgg16", 224, "features.29", "relu5_3"},
      {"vgg19", "vgg", "vgg19", 224, "features.35", "relu5_4"},
      {"squeezenet", "squeezenet", "squeezenet1_1", 224, "classifier.2", "relu_conv10"},
      {"googlenet", "googlenet", "googlenet", 224, "inception5b", "inception_5b-output"},
      // Same layers as googlenet; a separate name so it carries its own (Places365) weights.
      {"googlenet-places", "googlenet", "googlenet", 224, "inception5b", "inception_5b-output"},
      {"inceptionv3", "inception_v3", "inception_v3", 299, "Mixed_7c", "mixed10"},
      {"inceptionresnetv2", "inception_resnet_v2", "", 299, "conv2d_7b", "conv_7b_ac"},
      {"resnet18", "resnet", "resnet18", 224, "layer4", "res5b_relu"},
      {"resnet50", "resnet", "resnet50", 224, "layer4", "activation_49_relu"},
      {"resnet101", "resnet", "resnet101", 224, "layer4", "res5c_relu"},
      {"densenet201", "densenet", "densenet201", 224, "features.norm5", "bn"},
      {"mobilenetv2", "mobilenet_v2", "mobilenet_v2", 224, "features.18", "out_relu"},
      {"shufflenet", "shufflenet_v2", "shufflenet_v2_x1_0", 224, "conv5", "node_199"},
      {"xception", "xception", "", 299, "act4", "block14_sepconv2_act"},
      {"nasnetmobile", "nasnet", "", 224, "relu", "activation_188"},
      {"nasnetlarge", "nasnet", "", 331, "relu", "activation_520"},
      {"darknet19", "darknet", "", 256, "leaky18", "leaky18"},
      {"darknet53", "darknet", "", 256, "res23", "res23"},
  };
  return table;
}

std::vector<std::string> member_names() {
  std::vector<std::string> names;
  for (const auto& m : member_infos()) names.push_back(m.name);
  return names;
}

const MemberInfo& member_info(const std::string& name) {
  for (const auto& m : member_infos())
    if (m.name == name) return m;
  std::string valid;
  for (const auto& m : member_infos()) valid += (valid.empty() ? "" : ", ") + m.name;
  throw ModelError("unknown network '" + name + "'; valid networks: " + valid);
}

}  // namespace gradgate
