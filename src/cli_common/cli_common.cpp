#include "gradgate/cli_common.h"

#include <iomanip>
#include <sstream>

#include "gradgate/error.h"
#include "gradgate/task.h"
#include "gradgate/zoo/registry.h"

namespace gradgate {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? sep : "") + items[i];
  return s;
}

std::vector<std::string> split_list(const std::string& comma_separated) {
  std::vector<std::string> items;
  std::stringstream ss(comma_separated);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

void require_task(const std::string& task) {
  const auto& names = task_names();
  if (task.empty()) throw Error("--task is required; valid tasks: " + join(names, ", "));
  for (const auto& n : names)
    if (n == task) return;
  throw Error("unknown task '" + task + "'; valid tasks: " + join(names, ", "));
}

}  // namespace gradgate
