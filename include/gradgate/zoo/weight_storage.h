#pragma once
// How a member's <member>.pt stores its weights (ensemble-train --weights-dtype, the models
// manifest's training.weights_dtype). No torch here: train.h and the CLI name it.
//   float32  torchvision's own format.
//   float16  every floating-point tensor in half precision: half the file.
//   int8     convolution and linear weights as int8 with one float32 scale per output channel
//            (symmetric: scale = max|w| / 127 over the channel), stored as "<key>" (int8) and
//            "<key>:int8_scale"; every other floating-point tensor in half precision. About a
//            quarter of float32. read_state_dict dequantises on load (zoo/weights.h).
// Members are evaluated after rounding to their storage (round_to_storage), so a models
// folder's figures are those of the weights it ships.
#include "gradgate/enum_names.h"

namespace gradgate {

enum class WeightStorage { Float32, Float16, Int8 };

inline const EnumNames<WeightStorage>& weight_storage_names() {
  static const EnumNames<WeightStorage> table(
      "weights dtype",
      {{WeightStorage::Float32, "float32"}, {WeightStorage::Float16, "float16"}, {WeightStorage::Int8, "int8"}});
  return table;
}
inline const char* to_string(WeightStorage s) { return weight_storage_names().to_string(s); }

}  // namespace gradgate
