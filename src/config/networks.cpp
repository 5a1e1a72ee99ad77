// config/networks.yaml: the members' size presets and the input normalisation. The members
// themselves (names, families, Grad-CAM layers) are the registry's (zoo/member_info.h).
#include <set>

#include "gradgate/common/yaml_value.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "gradgate/member_card.h"
#include "gradgate/zoo/member_info.h"

namespace gradgate {

namespace fs = std::filesystem;

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = {"full", "compact", "tiny"};
  return names;
}

namespace {

std::array<float, 3> read_triplet(const YamlValue& v, double lo, double hi) {
  const auto items = v.items("a list of 3 numbers (R, G, B)");
  if (items.size() != 3) v.fail_expected("a list of 3 numbers (R, G, B)");
  std::array<float, 3> out{};
  for (int i = 0; i < 3; ++i) out[i] = static_cast<float>(items[i].as_double(lo, hi));
  return out;
}

PresetSpec read_preset(const YamlValue& v) {
  v.expect_keys({"input_side", "width", "classifier_width"});
  PresetSpec p;
  // member_card.h's bounds, which models manifests are held to as well.
  p.input_side = v.at("input_side", "an integer in [32, 2048]").as_int(kMinInputSide, kMaxInputSide);
  // The registry accepts width in (0, 4]; 1/64 is as thin as a member can usefully get.
  p.width = v.at("width", "a number in [0.015625, 4]").as_double(1.0 / 64.0, 4.0);
  if (v.has("classifier_width"))
    p.classifier_width =
        v.at("classifier_width", "a number in [0.015625, 4]").as_double(1.0 / 64.0, 4.0);
  return p;
}

NetworkConfig read_network(const YamlValue& v) {
  v.expect_keys({"name", "presets"});
  NetworkConfig n;
  const YamlValue name = v.at("name", "a network name");
  n.name = name.as_string("a network name");
  const auto valid = member_names();
  bool known = false;
  for (const auto& m : valid) known = known || m == n.name;
  if (!known) name.fail("unknown network '" + n.name + "'; valid networks: " + join_names(valid));
  const YamlValue presets = v.at("presets", "a mapping with keys " + join_names(preset_names()));
  presets.expect_keys(preset_names());
  for (const auto& p : preset_names())
    n.presets[p] = read_preset(presets.at(p, "a mapping with input_side and width"));
  return n;
}

}  // namespace

const NetworkConfig& NetworksConfig::network(const std::string& member) const {
  for (const auto& n : networks)
    if (n.name == member) return n;
  std::vector<std::string> names;
  for (const auto& n : networks) names.push_back(n.name);
  throw ConfigError(file.string() + ": no network '" + member + "' in key 'networks'; listed: " +
                    join_names(names));
}

PresetSpec NetworksConfig::preset(const std::string& member, const std::string& preset_name) const {
  const NetworkConfig& n = network(member);
  auto it = n.presets.find(preset_name);
  if (it == n.presets.end())
    throw ConfigError(file.string() + ": unknown preset '" + preset_name + "' for network '" +
                      member + "'; expected one of: " + join_names(preset_names()));
  return it->second;
}

NetworksConfig load_networks_config(const fs::path& path) {
  const YamlValue root = YamlValue::load(path);
  root.expect_keys({"normalization", "networks"});
  NetworksConfig cfg;
  cfg.file = path;

  const YamlValue norm = root.at("normalization", "a mapping with mean and std");
  norm.expect_keys({"mean", "std"});
  cfg.normalization.mean = read_triplet(norm.at("mean", "a list of 3 numbers"), 0.0, 1.0);
  cfg.normalization.std = read_triplet(norm.at("std", "a list of 3 numbers"), 1e-6, 10.0);

  std::set<std::string> seen;
  for (const auto& item : root.at("networks", "a list of networks").items("a list of networks")) {
    NetworkConfig n = read_network(item);
    if (!seen.insert(n.name).second) item.fail("network '" + n.name + "' is listed twice");
    cfg.networks.push_back(std::move(n));
  }
  if (cfg.networks.empty()) root.at("networks", "").fail_expected("a non-empty list of networks");
  // Every member of the registry needs its presets here.
  std::vector<std::string> missing;
  for (const auto& m : member_names())
    if (!seen.count(m)) missing.push_back(m);
  if (!missing.empty())
    root.at("networks", "").fail("no presets for network(s) " + join_names(missing) +
                                 "; every registry member must be listed");
  return cfg;
}

}  // namespace gradgate
