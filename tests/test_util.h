#pragma once
// Helpers shared by the tests: a scratch folder per test, and the locations of optional
// external inputs (the cxr data set, the Python parity references).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "gradgate/config.h"

namespace gradgate::testing {

namespace fs = std::filesystem;

// A fresh, empty folder under the build tree, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "scratch";
    for (auto& c : name)
      if (c == '/') c = '_';
    path_ = fs::path(GRADGATE_TEST_WORK_DIR) / "tmp" / name;
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& child) const { return path_ / child; }

 private:
  fs::path path_;
};

// The cxr data set (GRADGATE_CXR_DATA, set by ctest from the CMake option of that name).
inline std::optional<fs::path> cxr_data_dir() {
  const char* env = std::getenv("GRADGATE_CXR_DATA");
  if (!env || !*env) return std::nullopt;
  fs::path p(env);
  if (!fs::exists(p / "manifest.csv")) return std::nullopt;
  return p;
}

// Folder of reference outputs written by tests/python/make_references.py.
inline std::optional<fs::path> python_refs_dir() {
  const char* env = std::getenv("GRADGATE_PYTHON_REFS");
  if (!env || !*env) return std::nullopt;
  fs::path p(env);
  if (!fs::exists(p / "DONE")) return std::nullopt;
  return p;
}

inline fs::path source_dir() { return ::gradgate::source_tree_dir(); }

// A member's size preset (input side, width) from the shipped config/networks.yaml, the one
// place the presets are written down; read once per test process.
inline PresetSpec preset_of(const std::string& member, const std::string& preset = "tiny") {
  static const NetworksConfig nets = load_networks_config(source_dir() / "config" / "networks.yaml");
  return nets.preset(member, preset);
}

}  // namespace gradgate::testing

#define GRADGATE_REQUIRE_CXR(var)                                                           \
  auto var##_opt = ::gradgate::testing::cxr_data_dir();                                     \
  if (!var##_opt) GTEST_SKIP() << "cxr data set not found: set GRADGATE_CXR_DATA (or the "  \
                                  "CMake option GRADGATE_CXR_DATA) to the folder holding "  \
                                  "manifest.csv";                                            \
  const ::std::filesystem::path var = *var##_opt

#define GRADGATE_REQUIRE_PYTHON_REFS(var)                                                    \
  auto var##_opt = ::gradgate::testing::python_refs_dir();                                   \
  if (!var##_opt) GTEST_SKIP() << "Python torch/torchvision references not available "       \
                                  "(install python3-torch python3-torchvision; see README)"; \
  const ::std::filesystem::path var = *var##_opt
