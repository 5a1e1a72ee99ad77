// Where config/, models/ and masks/ are read from when no option says (data_home()). The tools
// run from a build tree, from an installed prefix, or inside another program that links the
// library; none of them may depend on the working directory.
#include <cstdlib>
#include <system_error>

#include "gradgate/config.h"

namespace gradgate {

namespace fs = std::filesystem;

namespace {

// A folder counts as a data home when it holds the networks file every tool reads.
bool holds_config(const fs::path& dir) {
  std::error_code ec;
  return !dir.empty() && fs::is_regular_file(dir / "config" / "networks.yaml", ec);
}

fs::path running_executable() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe;
}

fs::path env_path(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? fs::path(v) : fs::path();
}

}  // namespace

fs::path source_tree_dir() { return fs::path(GRADGATE_SOURCE_DIR); }

fs::path installed_data_dir() { return fs::path(GRADGATE_INSTALL_DATA_DIR); }

fs::path find_data_home(const DataHomeCandidates& c) {
  if (!c.env_home.empty()) return c.env_home;
  if (!c.executable.empty()) {
    const fs::path beside = c.executable.parent_path().parent_path() / "share" / "gradgate";
    if (holds_config(beside)) return beside;
  }
  if (holds_config(c.source_tree)) return c.source_tree;
  if (holds_config(c.install_data_dir)) return c.install_data_dir;
  // Nothing found: the source tree, so that the error a caller reports names a real path
  // ("<source>/config/networks.yaml: file not found") and GRADGATE_HOME is the way out.
  return c.source_tree;
}

fs::path data_home() {
  return find_data_home({env_path("GRADGATE_HOME"), running_executable(), source_tree_dir(),
                         installed_data_dir()});
}

fs::path default_config_dir() {
  if (fs::path env = env_path("GRADGATE_CONFIG_DIR"); !env.empty()) return env;
  return data_home() / "config";
}

fs::path resolve_config_dir(const fs::path& option) {
  return option.empty() ? default_config_dir() : option;
}

fs::path project_root_of(const fs::path& config_dir) {
  // config/ sits at the top of the project; "config/" (trailing slash) has an empty
  // filename, so normalise before taking the parent.
  fs::path dir = fs::absolute(config_dir).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  return dir.parent_path();
}

}  // namespace gradgate
