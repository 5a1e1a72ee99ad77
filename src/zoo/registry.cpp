#include "gradgate/zoo/registry.h"

#include <cmath>
#include <functional>
#include <utility>

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

// The builder of every member, keyed by its name in member_infos() (zoo/member_info.h, the
// one table of member identities and Grad-CAM layers).
const std::vector<std::pair<std::string, Factory>>& factories() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"alexnet", zoo::make_alexnet},
      {"vgg16", zoo::make_vgg16},
      {"vgg19", zoo::make_vgg19},
      {"squeezenet", zoo::make_squeezenet1_1},
      {"googlenet", zoo::make_googlenet},
      {"googlenet-places", zoo::make_googlenet},
      {"inceptionv3", zoo::make_inception_v3},
      {"inceptionresnetv2", zoo::make_inception_resnet_v2},
      {"resnet18", zoo::make_resnet18},
      {"resnet50", zoo::make_resnet50},
      {"resnet101", zoo::make_resnet101},
      {"densenet201", zoo::make_densenet201},
      {"mobilenetv2", zoo::make_mobilenet_v2},
      {"shufflenet", zoo::make_shufflenet_v2_x1_0},
      {"xception", zoo::make_xception},
      {"nasnetmobile", zoo::make_nasnet_mobile},
      {"nasnetlarge", zoo::make_nasnet_large},
      {"darknet19", zoo::make_darknet19},
      {"darknet53", zoo::make_darknet53},
  };
  return table;
}

const Factory& factory(const std::string& name) {
  member_info(name);  // an unknown name throws, listing the valid ones
  for (const auto& [n, f] : factories())
    if (n == name) return f;
  throw ModelError("network '" + name + "' is in member_infos() but has no factory in registry.cpp");
}

}  // namespace

Member make_member(const std::string& name, const MemberOptions& options) {
  const Factory& make = factory(name);
  if (options.num_classes < 1)
    throw ModelError(name + ": num_classes must be >= 1, got " + std::to_string(options.num_classes));
  if (!(options.width > 0.0 && options.width <= 4.0))
    throw ModelError(name + ": width multiplier must be in (0, 4], got " + std::to_string(options.width));
  return make(options);
}

cv::Size feature_grid(Member& member, int64_t side, CamLayer layer) {
  torch::NoGradGuard no_grad;
  const bool was_training = member->is_training();
  member->eval();
  const auto x = torch::zeros({1, 3, side, side});
  const torch::Tensor a = layer == CamLayer::Fine ? member->fine_features(x) : member->features(x);
  member->train(was_training);
  return {static_cast<int>(a.size(3)), static_cast<int>(a.size(2))};
}

}  // namespace gradgate
