#pragma once
// Seeds derived from a run's seed and fixed coordinates (member, epoch, batch, image), never
// from thread timing: a resumed or parallel run draws what a serial one would. No torch here.
#include <cstdint>

namespace gradgate {

// Mixes numbers into a 64-bit seed (splitmix64 steps).
uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0);

}  // namespace gradgate
