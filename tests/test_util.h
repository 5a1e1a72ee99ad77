#pragma once
// Helpers shared by the tests: a scratch folder per test, and the locations of optional
// external inputs (the cxr data set, the Python parity references).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>

#include "gradgate/config.h"
#include "gradgate/phantom.h"
#include "gradgate/store/models_manifest.h"

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

// A file's bytes ("" when it cannot be read).
inline std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

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

// The message of the exception `f` throws; empty when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A phantom data set kept in the build tree across tests and runs (test-work/<name>): written
// by the first test that asks for it.
inline fs::path shared_phantoms(const std::string& name, int per_class, int side, uint64_t seed) {
  const fs::path d = fs::path(GRADGATE_TEST_WORK_DIR) / name;
  if (!fs::exists(d / "manifest.csv")) write_phantom_dataset(d, per_class, side, seed);
  return d;
}

// A two-class task over the phantoms (whose source is "phantom", which the shipped tasks
// do not use): normal vs any opacity; one darknet19 member at the tiny preset by default.
inline fs::path write_phantom_task(const fs::path& dir) {
  const fs::path file = dir / "phantom-pneumonia.yaml";
  std::ofstream(file) << "name: phantom-pneumonia\nclasses: [normal, pneumonia]\n"
                         "labels:\n  normal: normal\n  bacterial: pneumonia\n  viral: pneumonia\n"
                         "  covid: pneumonia\nsources: []\n"
                         "ensemble:\n  members: [darknet19]\n  preset: tiny\n  tau: 0.5\n  quorum: 1\n"
                         "  fallback: abstain\n  vote: soft\n  cam: gradcam\n  models_dir: models/x\n";
  return file;
}

inline fs::path source_dir() { return ::gradgate::source_tree_dir(); }

// A member's size preset (input side, width) from the shipped config/networks.yaml, the one
// place the presets are written down; read once per test process.
inline PresetSpec preset_of(const std::string& member, const std::string& preset = "tiny") {
  static const NetworksConfig nets = load_networks_config(source_dir() / "config" / "networks.yaml");
  return nets.preset(member, preset);
}

// A pneumonia models manifest of one member (tests that write a folder, or break one).
inline ModelsManifest one_member_manifest(const std::string& member, const std::string& preset,
                                          int64_t input_side, double width, const fs::path& file) {
  ModelsManifest mf;
  mf.task = "pneumonia";
  mf.classes = {"normal", "pneumonia"};
  ModelEntry e;
  e.name = member;
  e.preset = preset;
  e.input_side = input_side;
  e.width = width;
  e.file = file;
  mf.members.push_back(e);
  return mf;
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
