#pragma once
// A YAML node that knows which file and key path it came from, so every validation
// failure can say "<file>:<line>: key 'ensemble.tau': expected ..., got ...".
// The one YAML reader: config (tasks, networks, global) and the models manifest (store).
// No torch here.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gradgate {

class YamlValue {
 public:
  // Parses `file`; throws ConfigError when it is missing, unreadable, malformed or empty.
  static YamlValue load(const std::filesystem::path& file);

  YamlValue(std::shared_ptr<const std::filesystem::path> file, std::string key, YAML::Node node);

  const std::filesystem::path& file() const { return *file_; }
  const std::string& key() const { return key_; }
  const YAML::Node& node() const { return node_; }

  // Requires a mapping whose keys are all in `allowed` (unknown and duplicate keys fail).
  void expect_keys(const std::vector<std::string>& allowed) const;
  bool has(const std::string& child) const;
  // A required child of a mapping; missing -> ConfigError saying what was expected.
  YamlValue at(const std::string& child, const std::string& expected) const;
  std::optional<YamlValue> optional(const std::string& child) const;
  // Elements of a sequence (fails when this is not a sequence).
  std::vector<YamlValue> items(const std::string& expected) const;

  std::string as_string(const std::string& expected = "a string") const;
  std::string as_choice(const std::vector<std::string>& choices) const;
  double as_double(double lo, double hi) const;
  int64_t as_int(int64_t lo, int64_t hi) const;
  bool as_bool() const;
  std::vector<std::string> as_string_list(bool allow_empty) const;
  // yaml-cpp's own conversion to T (YAML::convert<T>); fails with "expected <expected>".
  template <typename T>
  T as(const std::string& expected) const {
    try {
      return node_.as<T>();
    } catch (const YAML::Exception&) {
      fail_expected(expected);
    }
  }

  // "<file>:<line>: key '<key>': expected <expected>, got <what this node holds>"
  [[noreturn]] void fail_expected(const std::string& expected) const;
  // "<file>:<line>: key '<key>': <message>"
  [[noreturn]] void fail(const std::string& message) const;

 private:
  std::string where() const;
  std::string describe() const;

  std::shared_ptr<const std::filesystem::path> file_;
  std::string key_;
  YAML::Node node_;
};

// "a, b, c" (join(names, ", "))
std::string join_names(const std::vector<std::string>& names);

}  // namespace gradgate
