#include "gradgate/task.h"

#include <algorithm>
#include <cctype>

#include "gradgate/error.h"

namespace gradgate {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::optional<int> TaskSpec::label_of(const std::string& diagnosis) const {
  // Keys are stored as written in the YAML; compare case-insensitively so the folder
  // name NORMAL and the manifest's `normal` are the same label.
  const std::string key = lower(diagnosis);
  for (const auto& [label, cls] : label_map) {
    if (lower(label) != key) continue;
    for (std::size_t i = 0; i < classes.size(); ++i)
      if (classes[i] == cls) return static_cast<int>(i);
    return std::nullopt;  // a map entry pointing at no class; the loader rejects these
  }
  return std::nullopt;
}

bool TaskSpec::uses_source(const std::string& source) const {
  if (sources.empty()) return true;
  const std::string key = lower(source);
  return std::any_of(sources.begin(), sources.end(),
                     [&](const std::string& s) { return lower(s) == key; });
}

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"pneumonia", "bacterial-vs-viral",
                                                 "covid-vs-other", "covid-vs-all"};
  return names;
}

void require_task(const std::string& task) {
  const auto& names = task_names();
  std::string valid;
  for (size_t i = 0; i < names.size(); ++i) valid += (i ? ", " : "") + names[i];
  if (task.empty()) throw Error("--task is required; valid tasks: " + valid);
  if (std::find(names.begin(), names.end(), task) == names.end())
    throw Error("unknown task '" + task + "'; valid tasks: " + valid);
}

}  // namespace gradgate
