#include "gradgate/common/yaml_value.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "gradgate/common/strings.h"
#include "gradgate/error.h"

namespace gradgate {

namespace fs = std::filesystem;

std::string join_names(const std::vector<std::string>& names) { return join(names, ", "); }

YamlValue YamlValue::load(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw ConfigError(file.string() + ": configuration file not found");
  if (fs::is_directory(file, ec))
    throw ConfigError(file.string() + ": expected a YAML file, found a folder");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file.string() + ": cannot open configuration file for reading");
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::ParserException& e) {
    // e.msg is yaml-cpp's own explanation without its "yaml-cpp: error at line..." prefix.
    throw ConfigError(file.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": malformed YAML: " + e.msg);
  }
  if (!root || root.IsNull())
    throw ConfigError(file.string() + ": the file is empty; expected a YAML mapping");
  return YamlValue(std::make_shared<const fs::path>(file), "", root);
}

YamlValue::YamlValue(std::shared_ptr<const fs::path> file, std::string key, YAML::Node node)
    : file_(std::move(file)), key_(std::move(key)), node_(std::move(node)) {}

std::string YamlValue::where() const {
  std::string w = file_->string();
  const YAML::Mark mark = node_.Mark();
  if (mark.line >= 0) w += ":" + std::to_string(mark.line + 1);
  w += ": ";
  w += key_.empty() ? std::string("top level") : "key '" + key_ + "'";
  return w;
}

std::string YamlValue::describe() const {
  switch (node_.Type()) {
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "'" + node_.Scalar() + "'";
    default:
      return "nothing";
  }
}

void YamlValue::fail_expected(const std::string& expected) const {
  throw ConfigError(where() + ": expected " + expected + ", got " + describe());
}

void YamlValue::fail(const std::string& message) const { throw ConfigError(where() + ": " + message); }

void YamlValue::expect_keys(const std::vector<std::string>& allowed) const {
  if (!node_.IsMap()) fail_expected("a mapping with keys " + join_names(allowed));
  std::set<std::string> seen;
  for (const auto& kv : node_) {
    const YAML::Node& k = kv.first;
    const std::string name = k.IsScalar() ? k.Scalar() : std::string("<non-scalar key>");
    const std::string path = key_.empty() ? name : key_ + "." + name;
    YamlValue at_key(file_, path, k);
    bool known = false;
    for (const auto& a : allowed) known = known || a == name;
    if (!known) at_key.fail("unknown key; expected one of: " + join_names(allowed));
    // yaml-cpp silently keeps one of two equal keys; a duplicate is almost always a typo.
    if (!seen.insert(name).second) at_key.fail("duplicate key");
  }
}

bool YamlValue::has(const std::string& child) const {
  return node_.IsMap() && static_cast<bool>(node_[child]);
}

YamlValue YamlValue::at(const std::string& child, const std::string& expected) const {
  const std::string path = key_.empty() ? child : key_ + "." + child;
  if (!node_.IsMap()) fail_expected("a mapping containing '" + child + "'");
  const YAML::Node n = node_[child];
  if (!n) throw ConfigError(file_->string() + ": missing key '" + path + "'; expected " + expected);
  return YamlValue(file_, path, n);
}

std::optional<YamlValue> YamlValue::optional(const std::string& child) const {
  if (!has(child)) return std::nullopt;
  const std::string path = key_.empty() ? child : key_ + "." + child;
  return YamlValue(file_, path, node_[child]);
}

std::vector<YamlValue> YamlValue::items(const std::string& expected) const {
  if (!node_.IsSequence()) fail_expected(expected);
  std::vector<YamlValue> out;
  for (std::size_t i = 0; i < node_.size(); ++i)
    out.emplace_back(file_, key_ + "[" + std::to_string(i) + "]", node_[i]);
  return out;
}

std::string YamlValue::as_string(const std::string& expected) const {
  if (!node_.IsScalar()) fail_expected(expected);
  return node_.Scalar();
}

std::string YamlValue::as_choice(const std::vector<std::string>& choices) const {
  const std::string expected = "one of: " + join_names(choices);
  const std::string v = as_string(expected);
  for (const auto& c : choices)
    if (c == v) return v;
  fail_expected(expected);
}

double YamlValue::as_double(double lo, double hi) const {
  std::ostringstream range;
  range << "a number in [" << lo << ", " << hi << "]";
  if (!node_.IsScalar()) fail_expected(range.str());
  double v = 0.0;
  if (!YAML::convert<double>::decode(node_, v) || std::isnan(v)) fail_expected(range.str());
  if (v < lo || v > hi) fail_expected(range.str());
  return v;
}

int64_t YamlValue::as_int(int64_t lo, int64_t hi) const {
  const std::string range =
      "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (!node_.IsScalar()) fail_expected(range);
  long long v = 0;
  if (!YAML::convert<long long>::decode(node_, v)) fail_expected(range);
  if (v < lo || v > hi) fail_expected(range);
  return static_cast<int64_t>(v);
}

bool YamlValue::as_bool() const {
  bool v = false;
  if (!node_.IsScalar() || !YAML::convert<bool>::decode(node_, v)) fail_expected("true or false");
  return v;
}

std::vector<std::string> YamlValue::as_string_list(bool allow_empty) const {
  const std::string expected = allow_empty ? "a list of strings" : "a non-empty list of strings";
  std::vector<std::string> out;
  for (const auto& item : items(expected)) out.push_back(item.as_string("a string"));
  if (!allow_empty && out.empty()) fail_expected(expected);
  return out;
}

}  // namespace gradgate
