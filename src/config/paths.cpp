#include <cstdlib>

#include "gradgate/config.h"

namespace gradgate {

namespace fs = std::filesystem;

fs::path source_tree_dir() { return fs::path(GRADGATE_SOURCE_DIR); }

fs::path default_config_dir() {
  if (const char* env = std::getenv("GRADGATE_CONFIG_DIR"); env && *env) return fs::path(env);
  return source_tree_dir() / "config";
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
