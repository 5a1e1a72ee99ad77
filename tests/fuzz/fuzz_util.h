#pragma once
// libFuzzer helpers: the readers under test take files, so each input is written to one
// scratch file per process (/tmp/gradgate-fuzz-<pid>.<ext>) and read back.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace gradgate::fuzz {

inline std::filesystem::path scratch(const uint8_t* data, size_t size, const std::string& ext) {
  const std::filesystem::path p = "/tmp/gradgate-fuzz-" + std::to_string(::getpid()) + ext;
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return p;
}

}  // namespace gradgate::fuzz
