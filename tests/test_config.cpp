// Configuration: the shipped files load and agree with the registry; each kind of bad YAML
// is a ConfigError whose message names the file and the key.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "gradgate/config.h"
#include "gradgate/error.h"
#include "gradgate/zoo/member_info.h"
#include "test_util.h"

using namespace gradgate;
using gradgate::testing::source_dir;
using gradgate::testing::TempDir;
namespace fs = std::filesystem;

namespace {

fs::path shipped_config() { return source_dir() / "config"; }

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A valid task file; tests break one thing in it.
const char* kTask = R"(name: mytask
classes: [normal, pneumonia]
labels:
  normal: normal
  bacterial: pneumonia
sources: [kermany]
ensemble:
  members: [resnet18, vgg16, alexnet]
  preset: compact
  tau: 0.5
  quorum: 2
  fallback: abstain
  vote: soft
  cam: gradcam
  models_dir: models/mytask
)";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << "test bug: '" << from << "' not in the text";
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

// Loads `text` as a task file and returns the ConfigError message ("" when it loaded).
std::string task_error(const TempDir& dir, const std::string& text) {
  const fs::path file = dir / "mytask.yaml";
  write(file, text);
  try {
    load_task_config(file, dir.path());
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

}  // namespace

TEST(Config, ValidTaskFileLoads) {
  TempDir dir;
  write(dir / "mytask.yaml", kTask);
  const TaskConfig cfg = load_task_config(dir / "mytask.yaml", dir.path());
  EXPECT_EQ(cfg.task.name, "mytask");
  ASSERT_EQ(cfg.task.classes.size(), 2u);
  EXPECT_EQ(cfg.task.label_of("BACTERIAL"), 1);
  EXPECT_EQ(cfg.task.label_of("viral"), std::nullopt);
  EXPECT_TRUE(cfg.task.uses_source("Kermany"));
  EXPECT_FALSE(cfg.task.uses_source("cohen"));
  EXPECT_EQ(cfg.ensemble.members, (std::vector<std::string>{"resnet18", "vgg16", "alexnet"}));
  EXPECT_EQ(cfg.ensemble.gate.quorum, 2);
  EXPECT_DOUBLE_EQ(cfg.ensemble.gate.tau, 0.5);
  EXPECT_EQ(cfg.ensemble.models_dir, (dir.path() / "models/mytask").lexically_normal());
}

TEST(Config, UnknownKeyNamesFileAndKeyPath) {
  TempDir dir;
  const std::string msg = task_error(dir, replace(kTask, "  tau: 0.5", "  tau: 0.5\n  taux: 1"));
  EXPECT_CONTAINS(msg, "mytask.yaml");
  EXPECT_CONTAINS(msg, "ensemble.taux");
  EXPECT_CONTAINS(msg, "unknown key");
  EXPECT_CONTAINS(msg, "tau");  // lists the valid keys
}

TEST(Config, WrongTypeNamesFileKeyAndExpectation) {
  TempDir dir;
  const std::string msg = task_error(dir, replace(kTask, "tau: 0.5", "tau: high"));
  EXPECT_CONTAINS(msg, "mytask.yaml");
  EXPECT_CONTAINS(msg, "ensemble.tau");
  EXPECT_CONTAINS(msg, "expected a number in [0, 1]");
  EXPECT_CONTAINS(msg, "'high'");

  const std::string list_msg = task_error(dir, replace(kTask, "classes: [normal, pneumonia]", "classes: normal"));
  EXPECT_CONTAINS(list_msg, "mytask.yaml");
  EXPECT_CONTAINS(list_msg, "'classes'");
  EXPECT_CONTAINS(list_msg, "list");
}

TEST(Config, OutOfRangeNamesFileAndKey) {
  TempDir dir;
  const std::string tau = task_error(dir, replace(kTask, "tau: 0.5", "tau: 1.5"));
  EXPECT_CONTAINS(tau, "mytask.yaml");
  EXPECT_CONTAINS(tau, "ensemble.tau");
  EXPECT_CONTAINS(tau, "[0, 1]");
  EXPECT_CONTAINS(tau, "1.5");

  // Quorum above the number of members (3).
  const std::string quorum = task_error(dir, replace(kTask, "quorum: 2", "quorum: 4"));
  EXPECT_CONTAINS(quorum, "mytask.yaml");
  EXPECT_CONTAINS(quorum, "ensemble.quorum");
  EXPECT_CONTAINS(quorum, "[1, 3]");

  const std::string vote = task_error(dir, replace(kTask, "vote: soft", "vote: loud"));
  EXPECT_CONTAINS(vote, "ensemble.vote");
  EXPECT_CONTAINS(vote, "soft, hard, weighted");

  const std::string label = task_error(dir, replace(kTask, "bacterial: pneumonia", "bacterial: pneumnia"));
  EXPECT_CONTAINS(label, "labels.bacterial");
  EXPECT_CONTAINS(label, "normal, pneumonia");
}

TEST(Config, MissingConfigFileNamesIt) {
  TempDir dir;
  try {
    load_networks_config(dir / "nope.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "nope.yaml");
    EXPECT_CONTAINS(e.what(), "not found");
  }
}

TEST(Config, MalformedYamlNamesFileAndLine) {
  TempDir dir;
  // An unclosed flow sequence on line 2.
  const std::string msg = task_error(dir, replace(kTask, "classes: [normal, pneumonia]", "classes: [normal, pneumonia"));
  EXPECT_CONTAINS(msg, "mytask.yaml:");
  EXPECT_CONTAINS(msg, "malformed YAML");
}

TEST(Config, MissingRequiredKeyNamesIt) {
  TempDir dir;
  const std::string msg = task_error(dir, replace(kTask, "  models_dir: models/mytask\n", ""));
  EXPECT_CONTAINS(msg, "mytask.yaml");
  EXPECT_CONTAINS(msg, "missing key 'ensemble.models_dir'");
}

TEST(Config, UnknownTaskNameListsTheAvailableOnes) {
  try {
    load_task("pneumonitis", shipped_config());
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_CONTAINS(msg, "pneumonitis");
    EXPECT_CONTAINS(msg, "pneumonitis.yaml");
    EXPECT_CONTAINS(msg, "covid-vs-all");
  }
}

TEST(Config, UnknownNetworkNameNamesFileKeyAndValidOnes) {
  TempDir dir;
  const std::string msg = task_error(dir, replace(kTask, "[resnet18, vgg16, alexnet]", "[resnet18, resnet9000, alexnet]"));
  EXPECT_CONTAINS(msg, "mytask.yaml");
  EXPECT_CONTAINS(msg, "ensemble.members[1]");
  EXPECT_CONTAINS(msg, "resnet9000");
  EXPECT_CONTAINS(msg, "darknet53");

  // In networks.yaml too.
  std::string nets = read(shipped_config() / "networks.yaml");
  nets = replace(nets, "name: darknet19", "name: darknet20");
  write(dir / "networks.yaml", nets);
  try {
    load_networks_config(dir / "networks.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "networks.yaml");
    EXPECT_CONTAINS(e.what(), "networks[17].name");
    EXPECT_CONTAINS(e.what(), "darknet20");
  }
}

TEST(Config, DuplicateKeyIsAnError) {
  TempDir dir;
  const std::string msg = task_error(dir, replace(kTask, "  vote: soft", "  vote: soft\n  vote: hard"));
  EXPECT_CONTAINS(msg, "ensemble.vote");
  EXPECT_CONTAINS(msg, "duplicate");
}

TEST(Config, ShippedTasksLoad) {
  const auto names = member_names();
  for (const auto& name : task_names()) {
    SCOPED_TRACE(name);
    const TaskConfig cfg = load_task(name, shipped_config());
    EXPECT_EQ(cfg.task.name, name);
    EXPECT_EQ(cfg.ensemble.members, names);
    EXPECT_EQ(cfg.ensemble.preset, "compact");
    EXPECT_DOUBLE_EQ(cfg.ensemble.gate.tau, 0.5);
    EXPECT_EQ(cfg.ensemble.gate.quorum, 3);
    EXPECT_EQ(cfg.ensemble.gate.fallback, GateFallback::Abstain);
    EXPECT_EQ(cfg.ensemble.vote, VoteRule::Soft);
    EXPECT_EQ(cfg.ensemble.models_dir, (source_dir() / "models" / name).lexically_normal());
  }
  const TaskConfig pneumonia = load_task("pneumonia", shipped_config());
  EXPECT_EQ(pneumonia.task.classes, (std::vector<std::string>{"normal", "pneumonia"}));
  EXPECT_EQ(pneumonia.task.sources, (std::vector<std::string>{"kermany", "cohen", "jsrt"}));
  EXPECT_EQ(pneumonia.task.label_of("NORMAL"), 0);
  EXPECT_EQ(pneumonia.task.label_of("covid"), 1);
  EXPECT_EQ(pneumonia.task.label_of("other"), std::nullopt);

  const TaskConfig bv = load_task("bacterial-vs-viral", shipped_config());
  EXPECT_EQ(bv.task.label_of("bacterial"), 0);
  EXPECT_EQ(bv.task.label_of("viral"), 1);
  EXPECT_EQ(bv.task.label_of("covid"), std::nullopt);
  EXPECT_EQ(bv.task.label_of("normal"), std::nullopt);

  const TaskConfig cvo = load_task("covid-vs-other", shipped_config());
  EXPECT_EQ(cvo.task.classes, (std::vector<std::string>{"covid", "other-viral"}));
  EXPECT_EQ(cvo.task.label_of("COVID-19"), 0);
  EXPECT_EQ(cvo.task.label_of("viral"), 1);
  EXPECT_EQ(cvo.task.label_of("bacterial"), std::nullopt);
  EXPECT_EQ(cvo.task.sources, (std::vector<std::string>{"kermany", "cohen", "hannover", "cxnet"}));

  const TaskConfig cva = load_task("covid-vs-all", shipped_config());
  EXPECT_EQ(cva.task.classes, (std::vector<std::string>{"covid", "normal", "bacterial", "viral"}));
  EXPECT_EQ(cva.task.label_of("other"), std::nullopt);
}

// networks.yaml holds the presets of exactly the registry's members; the full preset is the
// published architecture (the registry's native side, width 1).
TEST(Config, EveryRegistryMemberHasEveryPreset) {
  const NetworksConfig cfg = load_networks_config(shipped_config() / "networks.yaml");
  EXPECT_EQ(cfg.networks.size(), member_infos().size());
  for (const MemberInfo& r : member_infos()) {
    SCOPED_TRACE(r.name);
    for (const auto& preset : preset_names()) {
      const PresetSpec p = cfg.preset(r.name, preset);
      EXPECT_GE(p.input_side, 32) << preset;
      EXPECT_GT(p.width, 0.0) << preset;
    }
    EXPECT_EQ(cfg.preset(r.name, "full").input_side, r.native_side) << "preset full must use the native side";
    EXPECT_DOUBLE_EQ(cfg.preset(r.name, "full").width, 1.0) << "preset full must have width 1";
  }
}

// A member of the registry left out of networks.yaml is named; so is a member's identity
// written into the file (family, feature_layer, ...: the registry's, not the file's).
TEST(Config, NetworksYamlMissingMemberOrIdentityKeyIsNamed) {
  TempDir dir;
  const std::string shipped = read(shipped_config() / "networks.yaml");
  const std::string entry = "  - name: darknet53\n";
  const auto at = shipped.find(entry);
  ASSERT_NE(at, std::string::npos);
  write(dir / "networks.yaml", shipped.substr(0, at));  // darknet53 is the last entry
  try {
    load_networks_config(dir / "networks.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "networks.yaml");
    EXPECT_CONTAINS(e.what(), "darknet53");
    EXPECT_CONTAINS(e.what(), "no presets");
  }
  write(dir / "networks.yaml", replace(shipped, "  - name: alexnet\n", "  - name: alexnet\n    feature_layer: features.11\n"));
  try {
    load_networks_config(dir / "networks.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "feature_layer");
  }
}

TEST(Config, PresetLookup) {
  const NetworksConfig cfg = load_networks_config(shipped_config() / "networks.yaml");
  EXPECT_EQ(cfg.preset("resnet18", "compact").input_side, 128);
  EXPECT_DOUBLE_EQ(cfg.preset("resnet18", "compact").width, 0.25);
  EXPECT_EQ(cfg.preset("inceptionv3", "compact").input_side, 160);
  EXPECT_EQ(cfg.preset("inceptionresnetv2", "tiny").input_side, 160);
  EXPECT_EQ(cfg.preset("nasnetlarge", "tiny").input_side, 96);
  EXPECT_EQ(cfg.preset("alexnet", "tiny").input_side, 64);
  EXPECT_DOUBLE_EQ(cfg.preset("alexnet", "tiny").width, 0.125);
  EXPECT_EQ(cfg.preset("nasnetlarge", "full").input_side, 331);
  EXPECT_FLOAT_EQ(cfg.normalization.mean[0], 0.485f);
  EXPECT_FLOAT_EQ(cfg.normalization.std[2], 0.225f);
  EXPECT_THROW(cfg.preset("resnet18", "huge"), ConfigError);
  EXPECT_THROW(cfg.preset("resnet9000", "full"), ConfigError);
}

TEST(Config, ConfigDirFromEnvironment) {
  const char* old = std::getenv("GRADGATE_CONFIG_DIR");
  const std::string saved = old ? old : "";
  setenv("GRADGATE_CONFIG_DIR", "/some/where/config", 1);
  EXPECT_EQ(default_config_dir(), fs::path("/some/where/config"));
  EXPECT_EQ(project_root_of("/some/where/config/"), fs::path("/some/where"));
  EXPECT_EQ(resolve_config_dir("/else"), fs::path("/else"));
  unsetenv("GRADGATE_CONFIG_DIR");
  EXPECT_EQ(default_config_dir(), data_home() / "config");
  if (old) setenv("GRADGATE_CONFIG_DIR", saved.c_str(), 1);
}

// data_home(): GRADGATE_HOME, then an installed tool's ../share/gradgate, then the source tree,
// then the configured install prefix; a folder counts only when it holds config/networks.yaml.
TEST(Config, DataHomeOrder) {
  TempDir dir;
  const fs::path root = dir.path();
  auto make_home = [](const fs::path& dir) {
    fs::create_directories(dir / "config");
    std::ofstream(dir / "config" / "networks.yaml") << "presets: {}\n";
  };
  const fs::path prefix_home = root / "prefix" / "share" / "gradgate";
  const fs::path exe = root / "prefix" / "bin" / "ensemble-classify";
  const fs::path source = root / "source";
  const fs::path installed = root / "installed" / "share" / "gradgate";
  make_home(prefix_home);
  make_home(source);
  make_home(installed);

  EXPECT_EQ(find_data_home({"/from/env", exe, source, installed}), fs::path("/from/env"));
  EXPECT_EQ(find_data_home({{}, exe, source, installed}), prefix_home);
  // A build-tree tool (no share/gradgate beside it) reads the source tree.
  EXPECT_EQ(find_data_home({{}, root / "build" / "bin" / "ensemble-classify", source, installed}), source);
  // Sources gone: the install prefix.
  EXPECT_EQ(find_data_home({{}, root / "elsewhere" / "bin" / "x", root / "gone", installed}), installed);
  // A folder without config/networks.yaml does not count.
  fs::remove(prefix_home / "config" / "networks.yaml");
  EXPECT_EQ(find_data_home({{}, exe, source, installed}), source);
  // Nothing anywhere: the source tree, so the error that follows names a path.
  EXPECT_EQ(find_data_home({{}, {}, root / "gone", root / "gone2"}), root / "gone");
  // The working directory is never a candidate.
  const fs::path cwd = fs::current_path();
  fs::current_path(source);
  EXPECT_EQ(find_data_home({{}, {}, root / "gone", installed}), installed);
  fs::current_path(cwd);
}
