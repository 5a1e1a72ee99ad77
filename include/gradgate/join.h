#pragma once
// join() on its own, for library code that must not include the tools' cli_common.h.
// Temporary: include/gradgate/common/strings.h (being added on another branch) takes it over;
// then this header and src/cli_common/join.cpp go.
#include <string>
#include <vector>

namespace gradgate {

std::string join(const std::vector<std::string>& items, const std::string& sep);

}  // namespace gradgate
