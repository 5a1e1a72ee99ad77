// The validators the task files and the tools' options share (config.h): one rule per
// setting, so `--quorum 0` fails as `quorum: 0` does instead of becoming a default.
#include <algorithm>
#include <set>

#include "gradgate/common/strings.h"
#include "gradgate/common/yaml_value.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "gradgate/zoo/member_info.h"

namespace gradgate {

const std::vector<std::string>& checked_members(const std::vector<std::string>& names,
                                                const std::string& what) {
  const auto valid = member_names();
  std::set<std::string> seen;
  for (const auto& name : names) {
    if (name.empty()) throw ConfigError(what + ": an empty member name");
    if (std::find(valid.begin(), valid.end(), name) == valid.end())
      throw ConfigError(what + ": unknown network '" + name + "'; valid networks: " + join_names(valid));
    if (!seen.insert(name).second) throw ConfigError(what + ": network '" + name + "' is listed twice");
  }
  return names;
}

std::vector<std::string> parse_member_list(const std::string& text, const std::string& what) {
  if (text.find_first_not_of(" \t") == std::string::npos) return {};
  std::vector<std::string> names;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (item.empty())
      throw ConfigError(what + ": an empty member name in '" + text + "' (names separated by single commas)");
    names.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  checked_members(names, what);
  return names;
}

const std::string& checked_preset(const std::string& name, const std::string& what) {
  const auto& valid = preset_names();
  if (std::find(valid.begin(), valid.end(), name) == valid.end())
    throw ConfigError(what + ": unknown preset '" + name + "'; valid presets: " + join_names(valid));
  return name;
}

int checked_quorum(int quorum, std::size_t members, const std::string& what) {
  if (quorum < 1 || static_cast<std::size_t>(quorum) > members)
    throw ConfigError(what + ": expected a quorum from 1 to " + std::to_string(members) +
                      " (the members selected), got " + std::to_string(quorum));
  return quorum;
}

int checked_threads(int threads, const std::string& what) {
  if (threads < 0) throw ConfigError(what + ": expected 0 (every core) or more, got " + std::to_string(threads));
  return threads;
}

}  // namespace gradgate
