#pragma once
// A member card: everything that decides what one member's network input is and where its
// Grad-CAM map comes from (in the spirit of torchvision's Weights meta). Training, inference
// and the benches prepare a member's input from its card (preprocess.h), so the two sides
// cannot disagree. No torch here.
//
// The feature grid (the map's h x w at input_side) is not on the card: it depends on each
// family's padding and stride arithmetic, which only the built network knows (CamBatch's
// low_res has it after a forward pass).
#include <cstdint>
#include <string>

#include "gradgate/normalization.h"

namespace gradgate {

// The input sides a member may be given (networks.yaml presets and models manifests alike):
// 32 px is the smallest side every architecture's stride still leaves a map at; past 2048 a
// forward pass of the larger members needs tens of GB.
constexpr int64_t kMinInputSide = 32;
constexpr int64_t kMaxInputSide = 2048;

struct NetworksConfig;
struct ModelEntry;

struct MemberCard {
  std::string member;          // registry name
  std::string preset;          // full | compact | tiny
  int64_t input_side = 0;      // the network sees input_side x input_side
  double width = 1.0;          // channel multiplier
  double classifier_width = 0.0;  // alexnet/vgg hidden classifier layers; 0 = width
  Normalization normalization;  // per channel, after gray is replicated to 3 channels
  std::string feature_layer;   // the registry's Grad-CAM layer (zoo/member_info.h)
};

// An untrained (or to-be-trained) member: its preset from config/networks.yaml, the file's
// normalisation. Throws ConfigError for an unknown member or preset.
MemberCard card_from_networks(const std::string& member, const std::string& preset,
                              const NetworksConfig& networks);

// A trained member: the side, width and normalisation its models manifest records.
// Throws ModelError for a member the registry does not know.
MemberCard card_from_manifest(const ModelEntry& entry);

}  // namespace gradgate
