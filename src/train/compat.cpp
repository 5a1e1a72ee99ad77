#include "train/compat.h"

#include <algorithm>
#include <cctype>

#include "gradgate/error.h"
#include "gradgate/zoo/registry.h"

#include "gradgate/config.h"
#include "gradgate/dataset.h"
#include "gradgate/image.h"
#include "gradgate/zoo/weights.h"

namespace gradgate::train_detail {

namespace fs = std::filesystem;

namespace {

bool looks_like_file(const std::string& s) {
  return s.find('/') != std::string::npos || (s.size() > 5 && s.substr(s.size() - 5) == ".yaml") ||
         (s.size() > 4 && s.substr(s.size() - 4) == ".yml");
}

}  // namespace

TaskSpec load_task_spec(const std::string& name_or_file) {
  if (looks_like_file(name_or_file)) return load_task_config(name_or_file).task;
  return load_task(name_or_file).task;
}

std::vector<std::string> task_default_members(const std::string& task_name) {
  try {
    return load_task(task_name).ensemble.members;
  } catch (const ConfigError&) {
    return member_names();
  }
}

MemberCard member_card(const std::string& member, const std::string& preset) {
  return card_from_networks(member, preset, load_networks_config(default_config_dir() / "networks.yaml"));
}

PresetSpec preset_of(const std::string& member, const std::string& preset) {
  const MemberCard c = member_card(member, preset);
  return {c.input_side, c.width, c.classifier_width};
}

RawData read_raw_data(const fs::path& data) {
  RawData out;
  auto ds = open_dataset(data);
  out.format = ds->format();
  auto reader = ds->reader();
  Sample s;
  while (reader->next(s)) {
    if (s.split == Split::Other)
      throw DatasetError(data.string() + ": " + s.image.string() + " is in split '" + s.split_text +
                         "'; training needs train, val and test (other split names are for "
                         "classification and benchmarking only)");
    out.samples.push_back({s.image, s.diagnosis, s.source, static_cast<int>(s.split),
                           s.mask.value_or(fs::path())});
  }
  return out;
}

cv::Mat load_gray_image(const fs::path& path) {
  return load_gray(path);
}

void save_weights(torch::nn::Module& model, const fs::path& path, WeightStorage storage) {
  save_state_dict(model, path.string(), storage);
}

std::string load_weights(torch::nn::Module& model, const fs::path& path, bool transfer) {
  LoadOptions o;
  o.skip_classifier_if_mismatch = transfer;
  const auto r = load_torchvision_state_dict(model, path.string(), o);
  std::string s = std::to_string(r.loaded.size()) + " tensors from " + path.string();
  if (!r.skipped_classifier.empty())
    s += " (classifier skipped: " + std::to_string(r.skipped_classifier.size()) + " tensors)";
  return s;
}

}  // namespace gradgate::train_detail
