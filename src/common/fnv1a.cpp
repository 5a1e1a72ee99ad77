#include "gradgate/common/fnv1a.h"

#include <cstdio>
#include <fstream>

#include "gradgate/error.h"

namespace gradgate {

uint64_t fnv1a64_file(const std::filesystem::path& file, uint64_t h) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file.string() + " to hash it");
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    h = fnv1a64(std::string_view(buf, static_cast<size_t>(in.gcount())), h);
    if (!in) break;
  }
  if (in.bad()) throw Error("cannot read " + file.string() + " to hash it");
  return h;
}

std::string fnv1a64_hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string fnv1a64_label(uint64_t h) { return "fnv1a64:" + fnv1a64_hex(h); }

}  // namespace gradgate
