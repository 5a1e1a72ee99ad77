#pragma once
// Small pieces shared by the command-line tools (src/cli/*.cpp).
#include <ostream>
#include <string>
#include <vector>

namespace gradgate {

std::string join(const std::vector<std::string>& items, const std::string& sep);
std::vector<std::string> split_list(const std::string& comma_separated);

// Throws Error when `task` is empty or not one of task_names(), listing the valid ones.
void require_task(const std::string& task);

// The zoo as a table: member, family, torchvision name, input side and width at `preset`,
// parameter count (built at that preset with 1000 classes), feature layer, study's layer.
void print_network_table(std::ostream& out, const std::string& preset);

}  // namespace gradgate
