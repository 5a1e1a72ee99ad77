#pragma once
// String helpers shared by the library and the tools. No torch here.
#include <string>
#include <vector>

namespace gradgate {

// items joined with `sep` ("" for no items).
std::string join(const std::vector<std::string>& items, const std::string& sep);
// "a,b,,c" -> {a, b, c}: split at commas, empty items dropped (no trimming).
std::vector<std::string> split_list(const std::string& comma_separated);

}  // namespace gradgate
