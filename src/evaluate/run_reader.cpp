// Reading an ensemble-classify run back: run.json (the settings its gate and vote used) and
// results.jsonl (per image, every member's probabilities and gate scores). Every error names
// the file, and the line for a row.
#include <algorithm>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "gradgate/common/strings.h"
#include "gradgate/dataset.h"
#include "gradgate/error.h"
#include "gradgate/evaluate.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace gradgate {

namespace {

// A field of an object, or an Error naming where and what was expected.
const json& field(const json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end()) throw Error(where + ": no \"" + key + "\"");
  return *it;
}

std::string text(const json& j, const char* key, const std::string& where) {
  const json& v = field(j, key, where);
  if (!v.is_string()) throw Error(where + ": \"" + key + "\" is not a string");
  return v.get<std::string>();
}

std::vector<std::string> strings(const json& j, const char* key, const std::string& where) {
  const json& v = field(j, key, where);
  if (!v.is_array()) throw Error(where + ": \"" + key + "\" is not a list");
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (!s.is_string()) throw Error(where + ": \"" + key + "\" holds a non-string");
    out.push_back(s.get<std::string>());
  }
  return out;
}

// A setting's name through its enum's one name table, the error naming the file and key.
template <class Table>
auto setting(const json& j, const char* key, const Table& table, const std::string& where) {
  const std::string value = text(j, key, where);
  try {
    return table.from_string(value);
  } catch (const ConfigError& e) {
    throw Error(where + ": \"" + key + "\": " + e.what());
  }
}

// null (not judged) -> 0, as LungShare holds it.
double score_or_zero(const json& v) { return v.is_number() ? v.get<double>() : 0.0; }

GateStatus status_of(const std::string& s, const std::string& where) {
  for (GateStatus g : {GateStatus::Ok, GateStatus::EmptyMap, GateStatus::EmptyMask})
    if (s == to_string(g)) return g;
  throw Error(where + ": unknown member status '" + s + "'");
}

}  // namespace

RunSettings load_run_settings(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(file.string() + ": cannot read run.json (is this an ensemble-classify output folder?)");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(file.string() + ": not JSON: " + e.what());
  }
  const std::string where = file.string();
  RunSettings r;
  r.file = file;
  r.task = text(j, "task", where);
  r.classes = strings(j, "classes", where);
  r.members = strings(j, "members", where);
  r.untrained = strings(j, "untrained_members", where);
  if (r.classes.size() < 2) throw Error(where + ": \"classes\" lists fewer than 2 classes");
  if (r.members.empty()) throw Error(where + ": \"members\" is empty");
  // Runs before the criterion existed wrote no "gate"/"gate_mode": they gated on the share.
  if (j.contains("gate")) r.gate.criterion = setting(j, "gate", gate_criterion_names(), where);
  if (j.contains("gate_mode")) r.gate.mode = setting(j, "gate_mode", gate_mode_names(), where);
  const json& tau = field(j, "tau", where);
  if (!tau.is_number()) throw Error(where + ": \"tau\" is not a number");
  r.gate.tau = tau.get<double>();
  const json& quorum = field(j, "quorum", where);
  if (!quorum.is_number_integer()) throw Error(where + ": \"quorum\" is not an integer");
  r.gate.quorum = quorum.get<int>();
  r.gate.fallback = setting(j, "fallback", gate_fallback_names(), where);
  r.vote = setting(j, "vote", vote_rule_names(), where);
  r.finished = j.value("finished", false);
  try {
    checked_tau(r.gate.criterion, r.gate.tau, "\"tau\"");
  } catch (const ConfigError& e) {
    throw Error(where + ": " + e.what());
  }
  return r;
}

RunResults load_run_results(const fs::path& path) {
  RunResults out;
  const bool is_dir = fs::is_directory(path);
  out.dir = is_dir ? path : path.parent_path();
  if (out.dir.empty()) out.dir = ".";
  out.results_file = is_dir ? path / "results.jsonl" : path;
  if (!fs::exists(out.results_file)) {
    if (fs::exists(out.dir / "results.jsonl.part"))
      throw Error(out.results_file.string() + ": not found; " + (out.dir / "results.jsonl.part").string() +
                  " is there: the run did not finish");
    throw Error(out.results_file.string() + ": not found (give an ensemble-classify output folder or its results.jsonl)");
  }
  out.run = load_run_settings(out.dir / "run.json");
  const auto& run = out.run;
  const size_t K = run.classes.size();
  std::map<std::string, size_t> member_index;
  for (size_t i = 0; i < run.members.size(); ++i) member_index[run.members[i]] = i;

  std::ifstream in(out.results_file);
  if (!in) throw Error(out.results_file.string() + ": cannot read");
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    const std::string where = out.results_file.string() + ":" + std::to_string(line_no);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      throw Error(where + ": not a JSON object: " + e.what());
    }
    if (!j.is_object()) throw Error(where + ": not a JSON object");
    const std::string status = text(j, "status", where);
    if (status == "error") {
      ++out.error_rows;
      continue;
    }
    if (status != "ok") throw Error(where + ": unknown status '" + status + "'");
    ResultRow row;
    row.line = line_no;
    row.image = unescape_path_bytes(text(j, "image", where));
    row.stem = j.value("stem", "");
    if (const auto t = j.find("true_label"); t != j.end() && t->is_string()) {
      const auto c = std::find(run.classes.begin(), run.classes.end(), t->get<std::string>());
      if (c == run.classes.end())
        throw Error(where + ": true_label '" + t->get<std::string>() + "' is not a class of " + run.file.string());
      row.truth = static_cast<int>(c - run.classes.begin());
    }
    const json& abstained = field(j, "abstained", where);
    if (!abstained.is_boolean()) throw Error(where + ": \"abstained\" is not true/false");
    row.run_abstained = abstained.get<bool>();
    const json& label_index = field(j, "label_index", where);
    if (!label_index.is_number_integer()) throw Error(where + ": \"label_index\" is not an integer");
    row.run_label = row.run_abstained ? -1 : label_index.get<int>();
    if (const auto o = j.find("outputs"); o != j.end() && o->is_object() && o->contains("overlays"))
      row.overlays = (*o)["overlays"].get<std::string>();

    const json& members = field(j, "members", where);
    if (!members.is_array() || members.size() != run.members.size())
      throw Error(where + ": " + std::to_string(members.is_array() ? members.size() : 0) + " members, " +
                  run.file.string() + " lists " + std::to_string(run.members.size()) +
                  " (results and run.json are from different runs?)");
    row.members.resize(run.members.size());
    const double mask_fraction = j.contains("mask") && j["mask"].value("fraction", json()).is_number()
                                     ? j["mask"]["fraction"].get<double>()
                                     : 0.0;
    for (const auto& m : members) {
      const std::string name = text(m, "name", where);
      const auto it = member_index.find(name);
      if (it == member_index.end())
        throw Error(where + ": member '" + name + "' is not among " + run.file.string() + "'s members");
      MemberScores& s = row.members[it->second];
      const json& probs = field(m, "probs", where);
      if (!probs.is_object() || probs.size() != K)
        throw Error(where + ": member " + name + ": \"probs\" is not one probability per class of " + run.file.string());
      s.probs.assign(K, 0.0);
      for (size_t k = 0; k < K; ++k) {
        const auto p = probs.find(run.classes[k]);
        if (p == probs.end())
          throw Error(where + ": member " + name + " has no probability of class '" + run.classes[k] + "'");
        // A non-finite probability was written as null; it cannot vote: 0.
        s.probs[k] = p->is_number() ? p->get<double>() : 0.0;
      }
      const json& li = field(m, "label_index", where);
      s.label = li.is_number_integer() ? li.get<int>() : -1;
      s.share.status = status_of(text(m, "status", where), where);
      s.share.share = score_or_zero(field(m, "share", where));
      s.share.lift = score_or_zero(field(m, "lift", where));
      s.share.excess = score_or_zero(field(m, "excess", where));
      s.share.mask_fraction = mask_fraction;
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

size_t attach_labels(RunResults& results, const Dataset& data, const TaskSpec& task) {
  struct Known {
    int truth;
    std::string patient;
  };
  std::map<std::string, Known> by_path;
  auto reader = data.reader();
  Sample s;
  while (reader->next(s)) {
    const auto k = task.label_of(s.diagnosis);
    by_path[fs::absolute(s.image).lexically_normal().string()] = {k ? *k : -1, s.patient};
  }
  size_t matched = 0;
  for (auto& row : results.rows) {
    fs::path p(row.image);
    // A relative path is relative to where classify ran: try here, then the run's folder.
    auto it = by_path.find(fs::absolute(p).lexically_normal().string());
    if (it == by_path.end() && p.is_relative()) it = by_path.find(fs::absolute(results.dir / p).lexically_normal().string());
    if (it == by_path.end()) continue;
    ++matched;
    if (it->second.truth >= 0) row.truth = it->second.truth;
    row.patient = it->second.patient;
  }
  return matched;
}

}  // namespace gradgate
