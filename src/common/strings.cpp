#include "gradgate/common/strings.h"

namespace gradgate {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) s += sep;
    s += items[i];
  }
  return s;
}

std::vector<std::string> split_list(const std::string& comma_separated) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= comma_separated.size()) {
    size_t end = comma_separated.find(',', start);
    if (end == std::string::npos) end = comma_separated.size();
    if (end > start) items.push_back(comma_separated.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

}  // namespace gradgate
