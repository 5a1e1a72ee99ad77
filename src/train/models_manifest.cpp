// manifest.yaml of a models folder: written by training and import, read (validated) by
// ensemble-classify.
#include "gradgate/models_manifest.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>

#include "gradgate/error.h"
#include "gradgate/zoo/registry.h"

namespace gradgate {

namespace fs = std::filesystem;

const ModelEntry& ModelsManifest::member(const std::string& name) const {
  for (const auto& m : members)
    if (m.name == name) return m;
  std::string listed;
  for (const auto& m : members) listed += (listed.empty() ? "" : ", ") + m.name;
  throw ModelError(file.string() + ": member '" + name + "' is not in this models folder (it has: " +
                   listed + ")");
}

namespace {

constexpr const char* kFormat = "gradgate-models/1";

class Reader {
 public:
  explicit Reader(fs::path file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(file_.string() + ": " + (key.empty() ? "" : "key '" + key + "': ") + what);
  }
  YAML::Node need(const YAML::Node& parent, const std::string& key, const std::string& path) const {
    YAML::Node n = parent[key];
    if (!n) fail(path, "missing");
    return n;
  }
  template <typename T>
  T as(const YAML::Node& n, const std::string& path, const char* expected) const {
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail(path, std::string("expected ") + expected);
    }
  }
  template <typename T>
  T get(const YAML::Node& parent, const std::string& key, const std::string& path,
        const char* expected) const {
    return as<T>(need(parent, key, path), path, expected);
  }
  std::optional<double> opt_number(const YAML::Node& parent, const std::string& key,
                                   const std::string& path) const {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) return std::nullopt;
    if (n.IsScalar() && (n.Scalar() == ".nan" || n.Scalar() == "nan")) return std::nullopt;
    return as<double>(n, path, "a number");
  }
  void known_keys(const YAML::Node& map, const std::vector<std::string>& keys,
                  const std::string& path) const {
    for (const auto& kv : map) {
      const auto k = kv.first.as<std::string>();
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
        std::string valid;
        for (const auto& x : keys) valid += (valid.empty() ? "" : ", ") + x;
        fail(path.empty() ? k : path + "." + k, "unknown key; expected one of: " + valid);
      }
    }
  }

 private:
  fs::path file_;
};

std::array<float, 3> triple(const Reader& r, const YAML::Node& n, const std::string& path) {
  if (!n.IsSequence() || n.size() != 3) r.fail(path, "expected a list of 3 numbers");
  std::array<float, 3> v{};
  for (std::size_t i = 0; i < 3; ++i) v[i] = r.as<float>(n[i], path, "a list of 3 numbers");
  return v;
}

}  // namespace

ModelsManifest load_models_manifest(const fs::path& dir_or_file, WeightFiles weights) {
  const fs::path file = fs::is_directory(dir_or_file) ? dir_or_file / "manifest.yaml" : dir_or_file;
  if (!fs::exists(file)) throw ConfigError(file.string() + ": models manifest not found");
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    throw ConfigError(file.string() + ": not valid YAML: " + e.what());
  }
  Reader r(file);
  if (!root.IsMap()) r.fail("", "expected a mapping at the top level");
  r.known_keys(root, {"format", "task", "classes", "members", "data", "seed", "created",
                      "gradgate_version", "ensemble", "training"}, "");
  const auto format = r.get<std::string>(root, "format", "format", "a string");
  if (format != kFormat) r.fail("format", "expected '" + std::string(kFormat) + "', got '" + format + "'");
  ModelsManifest m;
  m.file = fs::absolute(file);
  const fs::path dir = m.file.parent_path();
  m.task = r.get<std::string>(root, "task", "task", "a string");
  m.classes = r.get<std::vector<std::string>>(root, "classes", "classes", "a list of class names");
  if (m.classes.size() < 2) r.fail("classes", "expected at least 2 classes");
  if (root["seed"]) m.seed = r.as<uint64_t>(root["seed"], "seed", "a non-negative integer");
  if (root["created"]) m.created = r.as<std::string>(root["created"], "created", "a string");
  if (root["gradgate_version"])
    m.gradgate_version = r.as<std::string>(root["gradgate_version"], "gradgate_version", "a string");
  if (auto d = root["data"]) {
    if (!d.IsMap()) r.fail("data", "expected a mapping (path, hash)");
    r.known_keys(d, {"path", "hash", "format"}, "data");
    if (d["path"]) m.data_path = r.as<std::string>(d["path"], "data.path", "a string");
    if (d["hash"]) m.data_hash = r.as<std::string>(d["hash"], "data.hash", "a string");
  }
  if (auto e = root["ensemble"]) {
    if (!e.IsMap()) r.fail("ensemble", "expected a mapping");
    if (auto t = e["test"]) {
      m.ensemble_test_accuracy = r.opt_number(t, "accuracy", "ensemble.test.accuracy");
      m.ensemble_test_auc = r.opt_number(t, "auc", "ensemble.test.auc");
    }
  }
  if (auto t = root["training"]) {
    if (!t.IsMap()) r.fail("training", "expected a mapping");
    for (const auto& kv : t)
      m.training.emplace_back(kv.first.as<std::string>(), kv.second.Scalar());
  }
  const YAML::Node members = r.need(root, "members", "members");
  if (!members.IsSequence() || members.size() == 0) r.fail("members", "expected a non-empty list");
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::string p = "members[" + std::to_string(i) + "]";
    const YAML::Node n = members[i];
    if (!n.IsMap()) r.fail(p, "expected a mapping");
    r.known_keys(n, {"name", "preset", "input_side", "width", "file", "normalization", "epochs",
                     "best_epoch", "val", "test", "lr", "train_seconds", "weights_hash"}, p);
    ModelEntry e;
    e.name = r.get<std::string>(n, "name", p + ".name", "a string");
    try {
      member_info(e.name);
    } catch (const ModelError& err) {
      r.fail(p + ".name", err.what());
    }
    e.preset = r.get<std::string>(n, "preset", p + ".preset", "a string");
    e.input_side = r.get<int64_t>(n, "input_side", p + ".input_side", "a positive integer");
    if (e.input_side < 8) r.fail(p + ".input_side", "expected a side of at least 8 pixels");
    e.width = r.get<double>(n, "width", p + ".width", "a number");
    if (!(e.width > 0.0 && e.width <= 4.0)) r.fail(p + ".width", "expected a number in (0, 4]");
    const auto rel = r.get<std::string>(n, "file", p + ".file", "a file name");
    e.file = fs::path(rel).is_absolute() ? fs::path(rel) : dir / rel;
    if (weights == WeightFiles::must_exist && !fs::exists(e.file))
      r.fail(p + ".file", "weights file " + e.file.string() + " does not exist");
    if (n["weights_hash"]) e.weights_hash = r.as<std::string>(n["weights_hash"], p + ".weights_hash", "a string");
    if (auto norm = n["normalization"]) {
      e.normalization.mean = triple(r, r.need(norm, "mean", p + ".normalization.mean"), p + ".normalization.mean");
      e.normalization.std = triple(r, r.need(norm, "std", p + ".normalization.std"), p + ".normalization.std");
      for (float s : e.normalization.std)
        if (!(s > 0)) r.fail(p + ".normalization.std", "expected positive numbers");
    }
    if (n["epochs"]) e.epochs = r.as<int>(n["epochs"], p + ".epochs", "an integer");
    if (n["best_epoch"]) e.best_epoch = r.as<int>(n["best_epoch"], p + ".best_epoch", "an integer");
    e.lr = r.opt_number(n, "lr", p + ".lr");
    if (e.lr && !(*e.lr > 0)) r.fail(p + ".lr", "expected a positive learning rate");
    e.train_seconds = r.opt_number(n, "train_seconds", p + ".train_seconds");
    if (auto v = n["val"]) {
      e.val_metric_name = r.get<std::string>(v, "metric", p + ".val.metric", "loss or auc");
      e.val_metric = r.opt_number(v, "value", p + ".val.value");
    }
    if (auto t = n["test"]) {
      e.test_accuracy = r.opt_number(t, "accuracy", p + ".test.accuracy");
      e.test_auc = r.opt_number(t, "auc", p + ".test.auc");
      if (auto rec = t["recall"]) {
        if (!rec.IsSequence() || rec.size() != m.classes.size())
          r.fail(p + ".test.recall", "expected one number per class (" +
                                         std::to_string(m.classes.size()) + ")");
        for (const auto& x : rec)
          e.test_recall.push_back(x.IsNull() ? std::nan("") : r.as<double>(x, p + ".test.recall", "numbers"));
      }
    }
    for (const auto& prev : m.members)
      if (prev.name == e.name) r.fail(p + ".name", "member '" + e.name + "' is listed twice");
    m.members.push_back(std::move(e));
  }
  return m;
}

namespace {

void number(YAML::Emitter& y, const char* key, const std::optional<double>& v) {
  y << YAML::Key << key << YAML::Value;
  if (v && std::isfinite(*v))
    y << *v;
  else
    y << YAML::Null;
}

}  // namespace

void save_models_manifest(const ModelsManifest& m, const fs::path& dir) {
  YAML::Emitter y;
  y.SetDoublePrecision(6);
  y << YAML::BeginMap;
  y << YAML::Key << "format" << YAML::Value << kFormat;
  y << YAML::Key << "task" << YAML::Value << m.task;
  y << YAML::Key << "classes" << YAML::Value << YAML::Flow << m.classes;
  y << YAML::Key << "created" << YAML::Value << m.created;
  y << YAML::Key << "gradgate_version" << YAML::Value << m.gradgate_version;
  y << YAML::Key << "seed" << YAML::Value << m.seed;
  if (!m.data_path.empty() || !m.data_hash.empty()) {
    y << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "path" << YAML::Value << m.data_path;
    y << YAML::Key << "hash" << YAML::Value << m.data_hash;
    y << YAML::EndMap;
  }
  if (!m.training.empty()) {
    y << YAML::Key << "training" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : m.training) y << YAML::Key << k << YAML::Value << v;
    y << YAML::EndMap;
  }
  y << YAML::Key << "members" << YAML::Value << YAML::BeginSeq;
  for (const auto& e : m.members) {
    y << YAML::BeginMap;
    y << YAML::Key << "name" << YAML::Value << e.name;
    y << YAML::Key << "preset" << YAML::Value << e.preset;
    y << YAML::Key << "input_side" << YAML::Value << e.input_side;
    y << YAML::Key << "width" << YAML::Value << e.width;
    const fs::path rel = e.file.is_absolute() ? e.file.lexically_relative(dir) : e.file;
    y << YAML::Key << "file" << YAML::Value << (rel.empty() ? e.file : rel).string();
    if (!e.weights_hash.empty()) y << YAML::Key << "weights_hash" << YAML::Value << e.weights_hash;
    y << YAML::Key << "normalization" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "mean" << YAML::Value << YAML::Flow
      << std::vector<float>(e.normalization.mean.begin(), e.normalization.mean.end());
    y << YAML::Key << "std" << YAML::Value << YAML::Flow
      << std::vector<float>(e.normalization.std.begin(), e.normalization.std.end());
    y << YAML::EndMap;
    y << YAML::Key << "epochs" << YAML::Value << e.epochs;
    y << YAML::Key << "best_epoch" << YAML::Value << e.best_epoch;
    if (e.lr) y << YAML::Key << "lr" << YAML::Value << *e.lr;
    if (e.train_seconds) y << YAML::Key << "train_seconds" << YAML::Value << std::round(*e.train_seconds);
    if (!e.val_metric_name.empty()) {
      y << YAML::Key << "val" << YAML::Value << YAML::BeginMap;
      y << YAML::Key << "metric" << YAML::Value << e.val_metric_name;
      number(y, "value", e.val_metric);
      y << YAML::EndMap;
    }
    if (e.test_accuracy || e.test_auc) {
      y << YAML::Key << "test" << YAML::Value << YAML::BeginMap;
      number(y, "accuracy", e.test_accuracy);
      number(y, "auc", e.test_auc);
      y << YAML::Key << "recall" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (double v : e.test_recall)
        if (std::isfinite(v))
          y << v;
        else
          y << YAML::Null;
      y << YAML::EndSeq;
      y << YAML::EndMap;
    }
    y << YAML::EndMap;
  }
  y << YAML::EndSeq;
  if (m.ensemble_test_accuracy || m.ensemble_test_auc) {
    y << YAML::Key << "ensemble" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "test" << YAML::Value << YAML::BeginMap;
    number(y, "accuracy", m.ensemble_test_accuracy);
    number(y, "auc", m.ensemble_test_auc);
    y << YAML::EndMap << YAML::EndMap;
  }
  y << YAML::EndMap;
  fs::create_directories(dir);
  const fs::path file = dir / "manifest.yaml", tmp = dir / "manifest.yaml.tmp";
  {
    std::ofstream out(tmp);
    out << "# gradgate models folder: written by ensemble-train; read by ensemble-classify.\n"
        << y.c_str() << "\n";
    if (!out) throw Error("cannot write " + tmp.string());
  }
  fs::rename(tmp, file);
}

}  // namespace gradgate
