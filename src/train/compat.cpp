#include "train/compat.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "gradgate/error.h"
#include "gradgate/zoo/registry.h"

#if __has_include("gradgate/config.h")
#define GRADGATE_HAVE_CONFIG 1
#include "gradgate/config.h"
#endif
#if __has_include("gradgate/dataset.h")
#define GRADGATE_HAVE_DATASET 1
#include "gradgate/dataset.h"
#include "gradgate/image.h"
#endif
#if __has_include("gradgate/zoo/weights.h")
#define GRADGATE_HAVE_WEIGHTS 1
#include "gradgate/zoo/weights.h"
#endif

namespace gradgate {

#ifndef GRADGATE_HAVE_CONFIG
// Stand-ins for src/config/task.cpp until it lands.
std::optional<int> TaskSpec::label_of(const std::string& diagnosis) const {
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const auto& [label, cls] : label_map) {
    if (lower(label) != lower(diagnosis)) continue;
    for (std::size_t i = 0; i < classes.size(); ++i)
      if (classes[i] == cls) return static_cast<int>(i);
  }
  return std::nullopt;
}
bool TaskSpec::uses_source(const std::string& source) const {
  return sources.empty() || std::find(sources.begin(), sources.end(), source) != sources.end();
}
const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"pneumonia", "bacterial-vs-viral",
                                                 "covid-vs-other", "covid-vs-all"};
  return names;
}
#endif

namespace train_detail {

namespace fs = std::filesystem;

namespace {

bool looks_like_file(const std::string& s) {
  return s.find('/') != std::string::npos || s.size() > 5 && s.substr(s.size() - 5) == ".yaml" ||
         s.size() > 4 && s.substr(s.size() - 4) == ".yml";
}

#ifndef GRADGATE_HAVE_CONFIG
TaskSpec parse_task_yaml(const fs::path& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const std::exception& e) {
    throw ConfigError(file.string() + ": " + e.what());
  }
  TaskSpec t;
  t.name = root["name"].as<std::string>();
  t.classes = root["classes"].as<std::vector<std::string>>();
  for (const auto& kv : root["labels"]) t.label_map[kv.first.as<std::string>()] = kv.second.as<std::string>();
  if (root["sources"]) t.sources = root["sources"].as<std::vector<std::string>>();
  return t;
}
#endif

}  // namespace

TaskSpec load_task_spec(const std::string& name_or_file) {
#ifdef GRADGATE_HAVE_CONFIG
  if (looks_like_file(name_or_file)) return load_task_config(name_or_file).task;
  return load_task(name_or_file).task;
#else
  if (looks_like_file(name_or_file)) return parse_task_yaml(name_or_file);
  return parse_task_yaml(fs::path(GRADGATE_SOURCE_DIR) / "config" / "tasks" / (name_or_file + ".yaml"));
#endif
}

std::vector<std::string> task_default_members(const std::string& task_name) {
#ifdef GRADGATE_HAVE_CONFIG
  try {
    return load_task(task_name).ensemble.members;
  } catch (const ConfigError&) {
    return member_names();
  }
#else
  return member_names();
#endif
}

PresetInfo preset_of(const std::string& member, const std::string& preset) {
#ifdef GRADGATE_HAVE_CONFIG
  const auto global = load_global_config();
  const auto nets = load_networks_config(global.networks_file);
  const auto p = nets.preset(member, preset);
  return {p.input_side, p.width};
#else
  const auto& info = member_info(member);
  const bool wide = member == "googlenet" || member == "googlenet-places" || member == "xception" ||
                    member == "nasnetmobile" || member == "nasnetlarge";
  const bool incep = member == "inceptionv3" || member == "inceptionresnetv2";
  if (preset == "full") return {info.native_side, 1.0};
  if (preset == "compact") return {incep ? 160 : 128, 0.25};
  if (preset == "tiny") return {incep ? 160 : (wide ? 96 : 64), 0.125};
  throw ConfigError("unknown preset '" + preset + "'; valid presets: full, compact, tiny");
#endif
}

Norm normalization() {
  Norm n;
#ifdef GRADGATE_HAVE_CONFIG
  const auto global = load_global_config();
  const auto nets = load_networks_config(global.networks_file);
  n.mean = nets.normalization.mean;
  n.std = nets.normalization.std;
#endif
  return n;
}

RawData read_raw_data(const fs::path& data) {
  RawData out;
#ifdef GRADGATE_HAVE_DATASET
  auto ds = open_dataset(data);
  out.format = ds->format();
  auto reader = ds->reader();
  Sample s;
  while (reader->next(s))
    out.samples.push_back({s.image, s.diagnosis, s.source, static_cast<int>(s.split)});
#else
  // Stand-in: the cxr manifest.csv only, no quoting.
  fs::path file = fs::is_directory(data) ? data / "manifest.csv" : data;
  std::ifstream in(file);
  if (!in) throw DatasetError("cannot read data set " + file.string());
  out.format = "manifest";
  std::string line;
  std::getline(in, line);
  auto split_row = [](const std::string& l) {
    std::vector<std::string> f;
    std::stringstream ss(l);
    std::string x;
    while (std::getline(ss, x, ',')) f.push_back(x);
    return f;
  };
  auto header = split_row(line);
  auto col = [&](const std::string& name) {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw DatasetError(file.string() + ": no column " + name);
    return static_cast<std::size_t>(it - header.begin());
  };
  const auto ci = col("image"), cd = col("diagnosis"), cs = col("source"), cp = col("split");
  const fs::path base = fs::absolute(file).parent_path();
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto f = split_row(line);
    f.resize(header.size());
    const int split = f[cp] == "train" ? 0 : f[cp] == "val" ? 1 : f[cp] == "test" ? 2 : -1;
    if (split < 0) throw DatasetError(file.string() + ": bad split '" + f[cp] + "'");
    out.samples.push_back({base / f[ci], f[cd], f[cs], split});
  }
#endif
  return out;
}

cv::Mat load_gray_image(const fs::path& path) {
#ifdef GRADGATE_HAVE_DATASET
  return load_gray(path);
#else
  cv::Mat m = cv::imread(path.string(), cv::IMREAD_GRAYSCALE | cv::IMREAD_ANYDEPTH);
  if (m.empty()) throw ImageError(path.string() + ": cannot read image");
  cv::Mat f;
  m.convertTo(f, CV_32F, m.depth() == CV_16U ? 1.0 / 65535.0 : 1.0 / 255.0);
  return f;
#endif
}

void save_weights(torch::nn::Module& model, const fs::path& path) {
#ifdef GRADGATE_HAVE_WEIGHTS
  save_state_dict(model, path.string());
#else
  const fs::path tmp = path.string() + ".tmp";
  torch::serialize::OutputArchive archive;
  model.save(archive);
  archive.save_to(tmp.string());
  fs::rename(tmp, path);
#endif
}

std::string load_weights(torch::nn::Module& model, const fs::path& path, bool transfer) {
#ifdef GRADGATE_HAVE_WEIGHTS
  LoadOptions o;
  o.skip_classifier_if_mismatch = transfer;
  const auto r = load_torchvision_state_dict(model, path.string(), o);
  std::string s = std::to_string(r.loaded.size()) + " tensors from " + path.string();
  if (!r.skipped_classifier.empty())
    s += " (classifier skipped: " + std::to_string(r.skipped_classifier.size()) + " tensors)";
  return s;
#else
  if (transfer)
    throw ModelError("loading torchvision state dicts (" + path.string() +
                     ") needs gradgate/zoo/weights.h, not built yet");
  torch::serialize::InputArchive archive;
  archive.load_from(path.string());
  model.load(archive);
  return "weights from " + path.string();
#endif
}

}  // namespace train_detail
}  // namespace gradgate
