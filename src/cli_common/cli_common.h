#pragma once
// Small pieces shared by the command-line tools (src/cli/*.cpp) and the benchmarks
// (bench/*.cpp): the tools' own, built into the gradgate_cli library, not into gradgate.
// Library code (src/ outside src/cli/, include/) must not include this header: it is the one
// place Boost.Program_options enters.
#include <boost/program_options.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "gradgate/common/strings.h"  // join, split_list (the tools use them)
#include "gradgate/distributed.h"
#include "gradgate/error.h"
#include "gradgate/task.h"  // require_task

namespace gradgate {

// Parses argv against `opts` (and `positional` when given). Returns false after printing
// the help to stdout when --help/-h was given, or the version when --version was (the caller
// exits 0); otherwise stores and notifies `vm` (required options are checked) and returns
// true. Throws po::error.
// `examples`, when given, ends the help (a few command lines, one per line).
bool parse_options(int argc, char** argv, const boost::program_options::options_description& opts,
                   boost::program_options::variables_map& vm,
                   const boost::program_options::positional_options_description* positional = nullptr,
                   const char* examples = nullptr);

// A setting's value from its name table (enum_names.h); the error names the option:
// "--gate: unknown gate criterion 'x'; valid: ...".
template <class Table>
auto parse_choice(const char* option, const Table& table, const std::string& text) {
  try {
    return table.from_string(text);
  } catch (const ConfigError& e) {
    throw ConfigError(std::string("--") + option + ": " + e.what());
  }
}

// The tasks as a table: name, classes, models folder, and its trained members with the
// manifest's soft-vote test accuracy, or "no trained members" (or why the folder is unusable).
void print_task_table(std::ostream& out);

// When argv holds --version: prints "<tool> (gradgate) <version>" and returns true.
bool print_version_if_asked(int argc, char** argv);

// The zoo as a table: member, family, torchvision name, input side and width at `preset`,
// parameter count (built at that preset with 1000 classes), feature layer, study's layer.
void print_network_table(std::ostream& out, const std::string& preset);

// The options of a tool that runs over several processes (--world-size, --rank,
// --master-addr, --master-port, --gloo-interface, --dist-timeout and, with `modes`,
// --dist-mode), as one group of `opts`. After parsing, dist_options() fills what was not given
// from torchrun's variables (resolve_dist_options) and checks it.
class DistCli {
 public:
  DistCli();
  void add_to(boost::program_options::options_description& opts, const char* modes_help = nullptr);
  DistOptions dist_options() const;

 private:
  DistOptions given_;
  std::string mode_ = "data";
};

}  // namespace gradgate
