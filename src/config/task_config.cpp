// config/tasks/<task>.yaml: classes, label map, sources and the ensemble's defaults.
#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include "gradgate/common/yaml_value.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "gradgate/zoo/member_info.h"

namespace gradgate {

namespace fs = std::filesystem;

const std::vector<std::string>& fallback_names() {
  static const std::vector<std::string> names = gate_fallback_names().names();
  return names;
}
const std::vector<std::string>& vote_names() {
  static const std::vector<std::string> names = vote_rule_names().names();
  return names;
}
const std::vector<std::string>& cam_names() {
  static const std::vector<std::string> names = cam_method_names().names();
  return names;
}
const std::vector<std::string>& cam_layer_choices() {
  static const std::vector<std::string> names = cam_layer_names().names();
  return names;
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

TaskSpec read_task(const YamlValue& root) {
  TaskSpec t;
  t.name = root.at("name", "the task's name").as_string("the task's name");

  const YamlValue classes = root.at("classes", "a list of at least 2 class names");
  t.classes = classes.as_string_list(false);
  if (t.classes.size() < 2) classes.fail_expected("a list of at least 2 class names");
  std::set<std::string> class_set;
  for (const auto& c : t.classes)
    if (!class_set.insert(c).second) classes.fail("class '" + c + "' is listed twice");

  const YamlValue labels = root.at("labels", "a mapping from dataset label to class");
  if (!labels.node().IsMap()) labels.fail_expected("a mapping from dataset label to class");
  std::set<std::string> used_classes, seen_labels;
  for (const auto& kv : labels.node()) {
    const std::string label = kv.first.Scalar();
    const YamlValue target(std::make_shared<const fs::path>(root.file()), "labels." + label, kv.second);
    const std::string cls = target.as_choice(t.classes);
    // label_of() matches case-insensitively, so NORMAL and normal are the same key.
    if (!seen_labels.insert(lower(label)).second)
      target.fail("label '" + label + "' is mapped twice (labels match case-insensitively)");
    t.label_map[label] = cls;
    used_classes.insert(cls);
  }
  for (const auto& c : t.classes)
    if (!used_classes.count(c))
      labels.fail("class '" + c + "' has no dataset label mapped onto it");

  if (auto sources = root.optional("sources")) t.sources = sources->as_string_list(true);
  return t;
}

EnsembleDefaults read_ensemble(const YamlValue& e, const fs::path& project_root) {
  e.expect_keys({"members", "preset", "gate", "gate_mode", "tau", "quorum", "fallback", "vote",
                 "cam", "cam_layer", "domain", "models_dir"});
  EnsembleDefaults d;
  const YamlValue members = e.at("members", "a non-empty list of network names");
  const auto valid = member_names();
  std::set<std::string> seen;
  for (const auto& item : members.items("a non-empty list of network names")) {
    const std::string name = item.as_string("a network name");
    if (std::find(valid.begin(), valid.end(), name) == valid.end())
      item.fail("unknown network '" + name + "'; valid networks: " + join_names(valid));
    if (!seen.insert(name).second) item.fail("network '" + name + "' is listed twice");
    d.members.push_back(name);
  }
  if (d.members.empty()) members.fail_expected("a non-empty list of network names");

  if (auto v = e.optional("preset")) d.preset = v->as_choice(preset_names());
  // The criterion first: tau's range depends on it.
  if (auto v = e.optional("gate"))
    d.gate.criterion = gate_criterion_names().from_string(v->as_choice(gate_criterion_names().names()));
  if (auto v = e.optional("gate_mode"))
    d.gate.mode = gate_mode_names().from_string(v->as_choice(gate_mode_names().names()));
  if (auto v = e.optional("tau")) {
    // checked_tau is the one validation; the error keeps the file's
    // "<file>:<line>: key 'ensemble.tau': expected a number in [0, 1], got '<text>'".
    const std::string expected = tau_expected(d.gate.criterion);
    double tau = std::numeric_limits<double>::quiet_NaN();
    if (!v->node().IsScalar() || !YAML::convert<double>::decode(v->node(), tau))
      v->fail_expected(expected);
    try {
      d.gate.tau = checked_tau(d.gate.criterion, tau, "tau");
    } catch (const ConfigError&) {
      v->fail_expected(expected);
    }
  }  // without `tau`, GateOptions' default (0.5) is valid under every criterion
  if (auto v = e.optional("quorum")) {
    d.gate.quorum = static_cast<int>(v->as_int(1, static_cast<int64_t>(d.members.size())));
  } else if (d.gate.quorum > static_cast<int>(d.members.size())) {
    d.gate.quorum = static_cast<int>(d.members.size());
  }
  // The file takes the canonical names only (as_choice: exact, listed in the error); the
  // one name table turns them into the enums.
  if (auto v = e.optional("fallback")) d.gate.fallback = gate_fallback_from_string(v->as_choice(fallback_names()));
  if (auto v = e.optional("vote")) d.vote = vote_rule_from_string(v->as_choice(vote_names()));
  if (auto v = e.optional("cam")) d.cam = cam_method_from_string(v->as_choice(cam_names()));
  if (auto v = e.optional("cam_layer"))
    d.cam_layer = cam_layer_names().from_string(v->as_choice(cam_layer_choices()));
  if (auto v = e.optional("domain")) d.domain = domain_mode_names().from_string(v->as_choice(domain_mode_names().names()));
  const fs::path models = e.at("models_dir", "a folder (relative to the project root)")
                              .as_string("a folder (relative to the project root)");
  // The folder need not exist yet: training creates it.
  d.models_dir = (models.is_absolute() ? models : project_root / models).lexically_normal();
  return d;
}

}  // namespace

TaskConfig load_task_config(const fs::path& path, const fs::path& project_root) {
  const YamlValue root = YamlValue::load(path);
  root.expect_keys({"name", "classes", "labels", "sources", "ensemble"});
  TaskConfig cfg;
  cfg.file = path;
  cfg.task = read_task(root);
  const fs::path base = project_root.empty() ? project_root_of(default_config_dir()) : project_root;
  cfg.ensemble = read_ensemble(root.at("ensemble", "a mapping of the ensemble's defaults"), base);
  return cfg;
}

TaskConfig load_task(const std::string& name, const fs::path& config_dir) {
  const fs::path tasks = config_dir / "tasks";
  const fs::path file = tasks / (name + ".yaml");
  std::error_code ec;
  if (name.empty() || name.find('/') != std::string::npos || !fs::is_regular_file(file, ec)) {
    std::vector<std::string> found;
    for (fs::directory_iterator it(tasks, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".yaml") found.push_back(it->path().stem().string());
    std::sort(found.begin(), found.end());
    throw ConfigError("unknown task '" + name + "': no file " + file.string() +
                      "; tasks available: " + (found.empty() ? "none" : join_names(found)));
  }
  TaskConfig cfg = load_task_config(file, project_root_of(config_dir));
  if (cfg.task.name != name)
    throw ConfigError(file.string() + ": key 'name': expected '" + name +
                      "' (the file's name), got '" + cfg.task.name + "'");
  return cfg;
}

}  // namespace gradgate
