// config/default.yaml: settings shared by every command.
#include "gradgate/common/yaml_value.h"
#include "gradgate/config.h"
#include "gradgate/error.h"

namespace gradgate {

namespace fs = std::filesystem;

GlobalConfig load_global_config(const fs::path& config_dir) {
  const fs::path file = config_dir / "default.yaml";
  const YamlValue root = YamlValue::load(file);
  root.expect_keys({"default_task", "networks", "threads", "batch_size", "output"});
  GlobalConfig cfg;
  cfg.file = file;
  cfg.config_dir = config_dir;
  const fs::path project = project_root_of(config_dir);

  if (auto v = root.optional("default_task")) {
    cfg.default_task = v->as_string("a task name");
    const fs::path task_file = config_dir / "tasks" / (cfg.default_task + ".yaml");
    if (!fs::is_regular_file(task_file))
      v->fail("unknown task '" + cfg.default_task + "': expected a file " + task_file.string());
  }

  const YamlValue networks = root.at("networks", "a file name (relative to the config folder)");
  const fs::path net = networks.as_string("a file name (relative to the config folder)");
  cfg.networks_file = (net.is_absolute() ? net : config_dir / net).lexically_normal();
  if (!fs::is_regular_file(cfg.networks_file))
    networks.fail("file not found: " + cfg.networks_file.string());

  // 0 = every core; more than 1024 threads is a typo, not a machine.
  if (auto v = root.optional("threads")) cfg.threads = static_cast<int>(v->as_int(0, 1024));
  if (auto v = root.optional("batch_size")) cfg.batch_size = static_cast<int>(v->as_int(1, 4096));

  cfg.output.dir = project / "runs";
  if (auto out = root.optional("output")) {
    out->expect_keys({"dir", "format", "overlays", "montage", "html"});
    if (auto v = out->optional("dir")) {
      const fs::path d = v->as_string("a folder (relative to the project root)");
      cfg.output.dir = (d.is_absolute() ? d : project / d).lexically_normal();
    }
    if (auto v = out->optional("format")) cfg.output.format = v->as_choice({"csv", "jsonl"});
    if (auto v = out->optional("overlays")) cfg.output.overlays = v->as_bool();
    if (auto v = out->optional("montage")) cfg.output.montage = v->as_bool();
    if (auto v = out->optional("html")) cfg.output.html = v->as_bool();
  }
  return cfg;
}

}  // namespace gradgate
