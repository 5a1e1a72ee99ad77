// manifest.yaml of a models folder: written by training and import, read (validated) by
// ensemble-classify and by training resuming; read through YamlValue (common/yaml_value.h).
#include "gradgate/store/models_manifest.h"

#include <yaml-cpp/yaml.h>

#include <cmath>

#include "gradgate/common/atomic_file.h"
#include "gradgate/common/fnv1a.h"
#include "gradgate/common/yaml_value.h"
#include "gradgate/error.h"
#include "gradgate/member_card.h"
#include "gradgate/zoo/member_info.h"

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

// An optional number: absent, null or .nan are "none".
std::optional<double> opt_number(const YamlValue& parent, const std::string& key) {
  const auto v = parent.optional(key);
  if (!v || v->node().IsNull()) return std::nullopt;
  if (v->node().IsScalar() && (v->node().Scalar() == ".nan" || v->node().Scalar() == "nan"))
    return std::nullopt;
  return v->as<double>("a number");
}

std::array<float, 3> triple(const YamlValue& v) {
  if (!v.node().IsSequence() || v.node().size() != 3) v.fail_expected("a list of 3 numbers");
  std::array<float, 3> out{};
  const auto items = v.items("a list of 3 numbers");
  for (std::size_t i = 0; i < 3; ++i) out[i] = items[i].as<float>("a list of 3 numbers");
  return out;
}

// The `gate:` block: every setting through its enum's name table, tau through checked_tau.
TunedGate read_tuned_gate(const YamlValue& g) {
  if (!g.node().IsMap()) g.fail_expected("a mapping (criterion, tau, mode, quorum, fallback, vote, tuned)");
  g.expect_keys({"criterion", "tau", "mode", "quorum", "fallback", "vote", "tuned"});
  TunedGate t;
  const auto named = [&](const char* key, const auto& table) {
    const YamlValue v = g.at(key, table.joined(" | "));
    try {
      return table.from_string(v.as<std::string>("a string"));
    } catch (const ConfigError& e) {
      v.fail(e.what());
    }
    throw std::logic_error("unreachable: YamlValue::fail returns");
  };
  t.gate.criterion = named("criterion", gate_criterion_names());
  t.gate.mode = named("mode", gate_mode_names());
  t.gate.fallback = named("fallback", gate_fallback_names());
  t.vote = named("vote", vote_rule_names());
  const YamlValue tau = g.at("tau", "a number");
  try {
    t.gate.tau = checked_tau(t.gate.criterion, tau.as<double>("a number"), "gate.tau");
  } catch (const ConfigError& e) {
    tau.fail(e.what());
  }
  const YamlValue quorum = g.at("quorum", "an integer >= 1");
  t.gate.quorum = quorum.as<int>("an integer >= 1");
  if (t.gate.quorum < 1) quorum.fail("expected an integer >= 1");
  if (auto tuned = g.optional("tuned")) {
    if (!tuned->node().IsMap()) tuned->fail_expected("a mapping");
    tuned->expect_keys({"on", "rule", "date", "val_balanced_accuracy", "val_coverage"});
    if (auto v = tuned->optional("on")) t.tuned_on = v->as<std::string>("a string");
    if (auto v = tuned->optional("rule")) t.rule = v->as<std::string>("a string");
    if (auto v = tuned->optional("date")) t.date = v->as<std::string>("a string");
    t.val_balanced_accuracy = opt_number(*tuned, "val_balanced_accuracy");
    t.val_coverage = opt_number(*tuned, "val_coverage");
  }
  return t;
}

// The `domain:` block (DomainRecord).
DomainRecord read_domain_record(const YamlValue& d, const fs::path& dir) {
  if (!d.node().IsMap()) d.fail_expected("a mapping (file, hash, members_hash, ...)");
  d.expect_keys({"file", "hash", "members_hash", "data", "data_hash", "excluded_sources", "train_images",
                 "val_images", "components", "quantile", "rule", "val_flagged", "date"});
  DomainRecord r;
  const auto rel = d.at("file", "a file name").as<std::string>("a file name");
  r.file = fs::path(rel).is_absolute() ? fs::path(rel) : dir / rel;
  r.hash = d.at("hash", "fnv1a64:<hex>").as<std::string>("a string");
  r.members_hash = d.at("members_hash", "fnv1a64:<hex>").as<std::string>("a string");
  if (auto v = d.optional("data")) r.data_path = v->as<std::string>("a string");
  if (auto v = d.optional("data_hash")) r.data_hash = v->as<std::string>("a string");
  if (auto v = d.optional("excluded_sources")) r.excluded_sources = v->as<std::vector<std::string>>("a list of sources");
  if (auto v = d.optional("train_images")) r.train_images = v->as<int64_t>("an integer");
  if (auto v = d.optional("val_images")) r.val_images = v->as<int64_t>("an integer");
  if (auto v = d.optional("components")) r.components = v->as<int>("an integer");
  const YamlValue q = d.at("quantile", "a number in (0, 1)");
  r.quantile = q.as<double>("a number in (0, 1)");
  if (!(r.quantile > 0 && r.quantile < 1)) q.fail_expected("a number in (0, 1)");
  if (auto v = d.optional("rule")) r.rule = v->as<std::string>("a string");
  r.val_flagged = opt_number(d, "val_flagged");
  if (auto v = d.optional("date")) r.date = v->as<std::string>("a string");
  return r;
}

}  // namespace

ModelsManifest load_models_manifest(const fs::path& dir_or_file, WeightFiles weights) {
  const fs::path file = fs::is_directory(dir_or_file) ? dir_or_file / "manifest.yaml" : dir_or_file;
  if (!fs::exists(file)) throw ConfigError(file.string() + ": models manifest not found");
  const YamlValue root = YamlValue::load(file);
  if (!root.node().IsMap()) root.fail_expected("a mapping at the top level");
  root.expect_keys({"format", "task", "classes", "members", "data", "seed", "created",
                    "gradgate_version", "ensemble", "training", "gate", "domain"});
  const YamlValue format_value = root.at("format", "'" + std::string(kFormat) + "'");
  const auto format = format_value.as<std::string>("a string");
  if (format != kFormat) format_value.fail("expected '" + std::string(kFormat) + "', got '" + format + "'");
  ModelsManifest m;
  m.file = fs::absolute(file);
  const fs::path dir = m.file.parent_path();
  m.task = root.at("task", "a task name").as<std::string>("a string");
  const YamlValue classes = root.at("classes", "a list of class names");
  m.classes = classes.as<std::vector<std::string>>("a list of class names");
  if (m.classes.size() < 2) classes.fail("expected at least 2 classes");
  if (auto v = root.optional("seed")) m.seed = v->as<uint64_t>("a non-negative integer");
  if (auto v = root.optional("created")) m.created = v->as<std::string>("a string");
  if (auto v = root.optional("gradgate_version")) m.gradgate_version = v->as<std::string>("a string");
  if (auto d = root.optional("data")) {
    if (!d->node().IsMap()) d->fail_expected("a mapping (path, hash)");
    d->expect_keys({"path", "hash", "format"});
    if (auto v = d->optional("path")) m.data_path = v->as<std::string>("a string");
    if (auto v = d->optional("hash")) m.data_hash = v->as<std::string>("a string");
  }
  if (auto e = root.optional("ensemble")) {
    if (!e->node().IsMap()) e->fail_expected("a mapping");
    if (auto t = e->optional("test")) {
      m.ensemble_test_accuracy = opt_number(*t, "accuracy");
      m.ensemble_test_auc = opt_number(*t, "auc");
    }
  }
  if (auto t = root.optional("training")) {
    if (!t->node().IsMap()) t->fail_expected("a mapping");
    for (const auto& kv : t->node())
      m.training.emplace_back(kv.first.as<std::string>(), kv.second.Scalar());
  }
  if (auto g = root.optional("gate")) m.gate = read_tuned_gate(*g);
  if (auto d = root.optional("domain")) m.domain = read_domain_record(*d, dir);
  const YamlValue members = root.at("members", "a non-empty list of members");
  if (!members.node().IsSequence() || members.node().size() == 0) members.fail_expected("a non-empty list");
  for (const YamlValue& n : members.items("a non-empty list")) {
    if (!n.node().IsMap()) n.fail_expected("a mapping");
    n.expect_keys({"name", "preset", "input_side", "width", "classifier_width", "file", "normalization", "epochs",
                   "best_epoch", "val", "test", "lr", "train_seconds", "train_outside_share",
                   "weights_hash"});
    ModelEntry e;
    const YamlValue name = n.at("name", "a member name");
    e.name = name.as<std::string>("a string");
    try {
      member_info(e.name);
    } catch (const ModelError& err) {
      name.fail(err.what());
    }
    e.preset = n.at("preset", "a preset name").as<std::string>("a string");
    // networks.yaml's bounds (member_card.h): `input_side: 999999` must not reach a network.
    e.input_side = n.at("input_side", "an integer in [32, 2048]").as_int(kMinInputSide, kMaxInputSide);
    const YamlValue width = n.at("width", "a number");
    e.width = width.as<double>("a number");
    if (!(e.width > 0.0 && e.width <= 4.0)) width.fail("expected a number in (0, 4]");
    if (auto cw = n.optional("classifier_width")) {
      e.classifier_width = cw->as<double>("a number");
      if (!(e.classifier_width > 0.0 && e.classifier_width <= 4.0))
        cw->fail("expected a number in (0, 4]");
    }
    const YamlValue file_value = n.at("file", "a file name");
    const auto rel = file_value.as<std::string>("a file name");
    e.file = fs::path(rel).is_absolute() ? fs::path(rel) : dir / rel;
    if (weights == WeightFiles::must_exist && !fs::exists(e.file))
      file_value.fail("weights file " + e.file.string() + " does not exist");
    if (auto v = n.optional("weights_hash")) e.weights_hash = v->as<std::string>("a string");
    if (auto norm = n.optional("normalization")) {
      e.normalization.mean = triple(norm->at("mean", "a list of 3 numbers"));
      const YamlValue std_value = norm->at("std", "a list of 3 numbers");
      e.normalization.std = triple(std_value);
      for (float s : e.normalization.std)
        if (!(s > 0)) std_value.fail("expected positive numbers");
    }
    if (auto v = n.optional("epochs")) e.epochs = v->as<int>("an integer");
    if (auto v = n.optional("best_epoch")) e.best_epoch = v->as<int>("an integer");
    e.lr = opt_number(n, "lr");
    if (e.lr && !(*e.lr > 0)) n.at("lr", "a number").fail("expected a positive learning rate");
    e.train_seconds = opt_number(n, "train_seconds");
    e.train_outside_share = opt_number(n, "train_outside_share");
    if (auto v = n.optional("val")) {
      e.val_metric_name = v->at("metric", "loss or auc").as<std::string>("loss or auc");
      e.val_metric = opt_number(*v, "value");
    }
    if (auto t = n.optional("test")) {
      e.test_accuracy = opt_number(*t, "accuracy");
      e.test_auc = opt_number(*t, "auc");
      if (auto rec = t->optional("recall")) {
        if (!rec->node().IsSequence() || rec->node().size() != m.classes.size())
          rec->fail("expected one number per class (" + std::to_string(m.classes.size()) + ")");
        for (const YamlValue& x : rec->items("numbers"))
          e.test_recall.push_back(x.node().IsNull() ? std::nan("") : x.as<double>("numbers"));
      }
    }
    for (const auto& prev : m.members)
      if (prev.name == e.name) name.fail("member '" + e.name + "' is listed twice");
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
    if (e.classifier_width > 0)
      y << YAML::Key << "classifier_width" << YAML::Value << e.classifier_width;
    const fs::path rel = e.file.is_absolute() ? e.file.lexically_relative(fs::absolute(dir)) : e.file;
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
    if (e.train_outside_share) y << YAML::Key << "train_outside_share" << YAML::Value << *e.train_outside_share;
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
  if (m.gate) {
    const TunedGate& g = *m.gate;
    y << YAML::Key << "gate" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "criterion" << YAML::Value << to_string(g.gate.criterion);
    y << YAML::Key << "tau" << YAML::Value << g.gate.tau;
    y << YAML::Key << "mode" << YAML::Value << to_string(g.gate.mode);
    y << YAML::Key << "quorum" << YAML::Value << g.gate.quorum;
    y << YAML::Key << "fallback" << YAML::Value << to_string(g.gate.fallback);
    y << YAML::Key << "vote" << YAML::Value << to_string(g.vote);
    y << YAML::Key << "tuned" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "on" << YAML::Value << g.tuned_on;
    y << YAML::Key << "rule" << YAML::Value << g.rule;
    y << YAML::Key << "date" << YAML::Value << g.date;
    number(y, "val_balanced_accuracy", g.val_balanced_accuracy);
    number(y, "val_coverage", g.val_coverage);
    y << YAML::EndMap << YAML::EndMap;
  }
  if (m.domain) {
    const DomainRecord& d = *m.domain;
    y << YAML::Key << "domain" << YAML::Value << YAML::BeginMap;
    const fs::path rel = d.file.is_absolute() ? d.file.lexically_relative(fs::absolute(dir)) : d.file;
    y << YAML::Key << "file" << YAML::Value << (rel.empty() ? d.file : rel).string();
    y << YAML::Key << "hash" << YAML::Value << d.hash;
    y << YAML::Key << "members_hash" << YAML::Value << d.members_hash;
    y << YAML::Key << "data" << YAML::Value << d.data_path;
    y << YAML::Key << "data_hash" << YAML::Value << d.data_hash;
    y << YAML::Key << "excluded_sources" << YAML::Value << YAML::Flow << d.excluded_sources;
    y << YAML::Key << "train_images" << YAML::Value << d.train_images;
    y << YAML::Key << "val_images" << YAML::Value << d.val_images;
    y << YAML::Key << "components" << YAML::Value << d.components;
    y << YAML::Key << "quantile" << YAML::Value << d.quantile;
    y << YAML::Key << "rule" << YAML::Value << d.rule;
    number(y, "val_flagged", d.val_flagged);
    y << YAML::Key << "date" << YAML::Value << d.date;
    y << YAML::EndMap;
  }
  y << YAML::EndMap;
  write_file_atomic(dir / "manifest.yaml",
                    std::string("# gradgate models folder: written by ensemble-train; read by ensemble-classify.\n") +
                        y.c_str() + "\n");
}

// gradgate's basis (kGradgateFnvBasis): the hashes the committed manifests hold.
std::string weights_file_hash(const fs::path& file) {
  return fnv1a64_label(fnv1a64_file(file, kGradgateFnvBasis));
}

std::string domain_members_hash(const ModelsManifest& manifest) {
  uint64_t h = kGradgateFnvBasis;
  for (const auto& e : manifest.members)
    h = fnv1a64(e.name + "=" + (e.weights_hash.empty() ? weights_file_hash(e.file) : e.weights_hash) + "\n", h);
  return fnv1a64_label(h);
}

}  // namespace gradgate
