#pragma once
// 64-bit FNV-1a: the one hash of file contents (weights, data manifests) and of keys
// (data splits, seeds). No torch here.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace gradgate {

constexpr uint64_t kFnv1a64Offset = 0xcbf29ce484222325ULL;  // 14695981039346656037
constexpr uint64_t kFnv1a64Prime = 0x100000001b3ULL;        // 1099511628211

// The offset basis every hash gradgate has recorded or derived from starts with:
// 1469598103934665603, the standard basis with its last digit dropped (so not standard
// FNV-1a 64). Every "fnv1a64:" hash in a models manifest (weights_hash, data.hash),
// hash_split's train/val/test assignment and the members' seeds depend on it: changing it
// would invalidate the committed manifests and change splits and trained weights. Call
// sites that must reproduce those values pass it explicitly as `h`.
constexpr uint64_t kGradgateFnvBasis = 1469598103934665603ULL;  // 0x14650fb0739d0383

// FNV-1a 64 of `bytes`; pass an earlier result as `h` to continue hashing a concatenation.
constexpr uint64_t fnv1a64(std::string_view bytes, uint64_t h = kFnv1a64Offset) {
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * kFnv1a64Prime;
  return h;
}

// FNV-1a 64 of a file's bytes, starting from `h`. Throws Error "cannot read <file> to hash it".
uint64_t fnv1a64_file(const std::filesystem::path& file, uint64_t h = kFnv1a64Offset);

// 16 lower-case hex digits, zero-padded.
std::string fnv1a64_hex(uint64_t h);
// "fnv1a64:<16 hex digits>", as manifests record hashes.
std::string fnv1a64_label(uint64_t h);

}  // namespace gradgate
