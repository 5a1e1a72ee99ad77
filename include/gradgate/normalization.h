#pragma once
// The per-channel normalisation of a network input: applied after the gray image is
// replicated to 3 channels (RGB order), x' = (x - mean[c]) / std[c]. The ImageNet
// statistics below are the one place the defaults are written; config/networks.yaml and
// every models manifest record the values a member actually uses. No torch here.
#include <array>

namespace gradgate {

struct Normalization {
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};

  bool operator==(const Normalization& o) const { return mean == o.mean && std == o.std; }
  bool operator!=(const Normalization& o) const { return !(*this == o); }
};

}  // namespace gradgate
