#pragma once
// Small pieces shared by the command-line tools (src/cli/*.cpp).
#include <boost/program_options.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "gradgate/common/strings.h"  // join, split_list (the tools use them)

namespace gradgate {

// Parses argv against `opts` (and `positional` when given). Returns false after printing
// the help to stdout when --help/-h was given (the caller exits 0); otherwise stores and
// notifies `vm` (required options are checked) and returns true. Throws po::error.
bool parse_options(int argc, char** argv, const boost::program_options::options_description& opts,
                   boost::program_options::variables_map& vm,
                   const boost::program_options::positional_options_description* positional = nullptr);

// Throws Error when `task` is empty or not one of task_names(), listing the valid ones.
void require_task(const std::string& task);

// The zoo as a table: member, family, torchvision name, input side and width at `preset`,
// parameter count (built at that preset with 1000 classes), feature layer, study's layer.
void print_network_table(std::ostream& out, const std::string& preset);

}  // namespace gradgate
