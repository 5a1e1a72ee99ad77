#pragma once
// YAML configuration: config/networks.yaml and config/tasks/<task>.yaml. Every other default is
// the tool's own, shown by its --help (there is no global settings file).
// Every loader validates what it reads: an unknown key, a wrong type, a value out of range
// or a missing referenced file throws ConfigError naming the file, the key path
// (e.g. `ensemble.tau`) and what was expected. No torch and no yaml-cpp in this header.
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gradgate/cam_method.h"
#include "gradgate/domain.h"
#include "gradgate/gate.h"
#include "gradgate/normalization.h"
#include "gradgate/task.h"
#include "gradgate/vote.h"

namespace gradgate {

// ---- where the configuration lives ----

// The source tree this build came from (its config/, models/ and masks/). Tests and
// benchmarks read their fixtures here; the tools go through data_home().
std::filesystem::path source_tree_dir();
// <install prefix>/share/gradgate as configured at build time (CMAKE_INSTALL_PREFIX).
std::filesystem::path installed_data_dir();

// Where a program looks for config/, models/ and masks/, in this order (first that applies):
struct DataHomeCandidates {
  std::filesystem::path env_home;          // GRADGATE_HOME: taken as given
  std::filesystem::path executable;        // <exe>/../../share/gradgate: an installed tool
  std::filesystem::path source_tree;       // the build's source tree, when it still exists
  std::filesystem::path install_data_dir;  // the configured install prefix's share/gradgate
};
// Pure choice among `c` (a folder qualifies when it holds config/networks.yaml); when none
// does, the source tree, so the error that follows names a path.
std::filesystem::path find_data_home(const DataHomeCandidates& c);
// find_data_home for this process: GRADGATE_HOME, /proc/self/exe, source_tree_dir(),
// installed_data_dir(). Never the working directory.
std::filesystem::path data_home();
// GRADGATE_CONFIG_DIR when set (and non-empty), else data_home()/config.
std::filesystem::path default_config_dir();
// `option` when non-empty (a CLI's --config-dir), else default_config_dir().
std::filesystem::path resolve_config_dir(const std::filesystem::path& option);
// The project root that relative paths such as `models/pneumonia` are read against:
// the folder holding the config folder.
std::filesystem::path project_root_of(const std::filesystem::path& config_dir);

// ---- config/networks.yaml: presets and normalisation ----

// A size preset of one member: the input side it is used at and its channel multiplier.
struct PresetSpec {
  int64_t input_side = 0;
  double width = 1.0;
  double classifier_width = 0.0;  // alexnet/vgg hidden classifier layers; 0 = width
};

// The preset names, smallest last: "full", "compact", "tiny".
const std::vector<std::string>& preset_names();

// One member's presets. Who the member is (family, Grad-CAM layer, ...) is the registry's
// (gradgate/zoo/member_info.h), not the file's.
struct NetworkConfig {
  std::string name;                           // registry name, e.g. "googlenet-places"
  std::map<std::string, PresetSpec> presets;  // one per preset_names() entry
};

struct NetworksConfig {
  std::filesystem::path file;
  Normalization normalization;          // applied to every member trained or run untrained
  std::vector<NetworkConfig> networks;  // in file order; exactly the registry's members

  // Throws ConfigError naming the file and the member when it is not in the file.
  const NetworkConfig& network(const std::string& member) const;
  // Throws ConfigError for an unknown member or preset name.
  PresetSpec preset(const std::string& member, const std::string& preset_name) const;
};

NetworksConfig load_networks_config(const std::filesystem::path& path);

// ---- config/tasks/<task>.yaml ----

// Allowed values of the ensemble's string settings (the first is the default): the canonical
// names of gate.h's, vote.h's and cam_method.h's name tables (no second list).
const std::vector<std::string>& fallback_names();  // abstain, all, best
const std::vector<std::string>& vote_names();      // soft, hard, weighted
const std::vector<std::string>& cam_names();       // gradcam, gradcampp, hirescam, saliency

// A task's gate when its file omits a key: GateOptions' tau and fallback (written once, in
// gate.h), and quorum 3 (written only here).
inline GateOptions default_task_gate() {
  GateOptions g;
  g.quorum = 3;
  return g;
}

// The ensemble a task runs by default; the CLI may override any of these. The file's strings
// are parsed into the enums here, once, when the task is loaded.
struct EnsembleDefaults {
  std::vector<std::string> members;  // registry names, validated
  std::string preset = "compact";    // one of preset_names()
  // tau: minimum share of CAM mass inside the lungs, [0,1]; quorum: members that must pass,
  // 1..members.size() (clamped to it when the file omits it); fallback: when fewer pass.
  GateOptions gate = default_task_gate();
  VoteRule vote = VoteRule::Soft;
  CamMethod cam = CamMethod::GradCam;
  CamLayer cam_layer = CamLayer::Fine;
  // What an image outside the models folder's training domain gets (domain.h): flagged in the
  // results (default), an abstention, or no check.
  DomainMode domain = DomainMode::Flag;
  std::filesystem::path models_dir;  // absolute: project root / the file's `models_dir`
};

struct TaskConfig {
  std::filesystem::path file;
  TaskSpec task;
  EnsembleDefaults ensemble;
};

// Loads one task file. Relative `models_dir` is resolved against `project_root`
// (default: project_root_of(default_config_dir())).
TaskConfig load_task_config(const std::filesystem::path& path,
                            const std::filesystem::path& project_root = {});
// Loads <config_dir>/tasks/<name>.yaml; an unknown name throws ConfigError listing the
// task files that exist.
TaskConfig load_task(const std::string& name,
                     const std::filesystem::path& config_dir = default_config_dir());

// ---- validators: the task files and every tool's options use these, one rule each ----
// `what` names the source in the ConfigError ("--members", "ensemble.members", ...).

// Every name one of the registry's members (the error lists them), none empty, none twice.
const std::vector<std::string>& checked_members(const std::vector<std::string>& names,
                                                const std::string& what);
// A comma-separated option: "" (or only spaces) is {} (the default members); otherwise split
// on commas and checked_members: ",", "a,,b" and "a," are errors, never "all members".
std::vector<std::string> parse_member_list(const std::string& text, const std::string& what);
// One of preset_names(); the error lists them.
const std::string& checked_preset(const std::string& name, const std::string& what);
// 1 <= quorum <= members: an impossible quorum is an error, not a clamp.
int checked_quorum(int quorum, std::size_t members, const std::string& what);
// Cores to use: >= 0 (0: every core).
int checked_threads(int threads, const std::string& what);


}  // namespace gradgate
