// ensemble-bench's text table, bench.json and bench.csv. JSON through nlohmann::json; the
// CSV has one row per scored entity (members, plain, gated) with the same columns, so runs
// can be compared with any spreadsheet or pandas.
#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gradgate/bench.h"
#include "gradgate/common/atomic_file.h"
#include "gradgate/common/strings.h"
#include "report/format.h"

namespace fs = std::filesystem;
using nlohmann::json;
using gradgate::report_detail::csv_line;

namespace gradgate {

namespace {

std::string fmt(double v, int digits = 3) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string with_ci(double v, const Interval& ci) {
  if (!std::isfinite(ci.lo)) return fmt(v);
  return fmt(v) + " [" + fmt(ci.lo) + ", " + fmt(ci.hi) + "]";
}

std::string pad(const std::string& s, size_t w) { return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' '); }

// NaN -> null (JSON has no NaN).
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
json nums(const std::vector<double>& v) {
  json a = json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}
json interval(const Interval& i) { return json::array({num(i.lo), num(i.hi)}); }

json scored_json(const Scored& s, const std::vector<std::string>& classes) {
  json j;
  j["name"] = s.name;
  j["kind"] = s.kind;
  j["n"] = s.m.n;
  j["answered"] = s.m.answered;
  j["coverage"] = num(s.m.coverage);
  j["coverage_ci"] = interval(s.coverage);
  j["accuracy"] = num(s.m.accuracy);
  j["accuracy_ci"] = interval(s.accuracy);
  j["balanced_accuracy"] = num(s.m.balanced_accuracy);
  j["balanced_accuracy_ci"] = interval(s.balanced_accuracy);
  j["auc"] = num(s.m.auc);
  j["auc_ci"] = interval(s.auc);
  j["sensitivity"] = nums(s.m.sensitivity);
  j["specificity"] = nums(s.m.specificity);
  j["ppv"] = nums(s.m.ppv);
  j["confusion"] = s.m.confusion;  // [true][predicted], classes in "classes" order
  return j;
}

std::vector<const Scored*> all_scored(const BenchResult& b) {
  std::vector<const Scored*> v;
  for (const auto& s : b.members) v.push_back(&s);
  v.push_back(&b.plain);
  v.push_back(&b.plain_same);
  v.push_back(&b.gated);
  return v;
}

}  // namespace

std::string untrained_warning(const RunSettings& run) {
  if (run.untrained.empty()) return "";
  return "WARNING: UNTRAINED MEMBERS. " + std::to_string(run.untrained.size()) + " of " +
         std::to_string(run.members.size()) + " members of this run had NO TRAINED WEIGHTS (random): " +
         join(run.untrained, ", ") + ". Every figure below is meaningless as a measure of accuracy.";
}

std::string bench_text(const BenchResult& b) {
  std::ostringstream o;
  const std::string warn = untrained_warning(b.run);
  const std::string bar(78, '!');
  if (!warn.empty()) o << bar << "\n" << warn << "\n" << bar << "\n\n";
  o << "task " << b.run.task << ": " << b.labelled << " labelled images of " << b.images << " (" << b.error_rows
    << " failed rows), " << b.patients << " patients; " << b.run.members.size() << " members\n";
  o << "run: " << b.run_dir.string() << "  gated setting: " << b.setting.describe() << " (from "
    << (b.run.file.empty() ? "run.json" : b.run.file.string()) << ")\n";
  if (b.bootstrap > 0)
    o << "95% intervals: bootstrap over patients, " << b.bootstrap << " draws, seed " << b.seed << "\n";
  if (b.replay_mismatches > 0)
    o << "NOTE: the replay at the run's setting differs from the run's own decision on " << b.replay_mismatches
      << " images (probabilities are rounded to 6 digits in results.jsonl, or the run is of another version)\n";
  o << "\n" << pad("", 24) << pad("accuracy", 24) << pad("balanced acc.", 24) << pad("AUC", 24) << "coverage\n";
  for (const Scored* s : all_scored(b))
    o << pad(s->name, 24) << pad(with_ci(s->m.accuracy, s->accuracy), 24)
      << pad(with_ci(s->m.balanced_accuracy, s->balanced_accuracy), 24) << pad(with_ci(s->m.auc, s->auc), 24)
      << fmt(s->m.coverage) << "\n";
  o << "\ngated vs plain on the " << b.gated.m.answered << " images the gate answered: accuracy "
    << fmt(b.gated.m.accuracy) << " vs " << fmt(b.plain_same.m.accuracy) << ", gain " << fmt(b.accuracy_gain)
    << (std::isfinite(b.accuracy_gain_ci.lo)
            ? " [" + fmt(b.accuracy_gain_ci.lo) + ", " + fmt(b.accuracy_gain_ci.hi) + "]"
            : std::string())
    << "\nMcNemar: plain right/gated wrong " << b.paired.b << ", plain wrong/gated right " << b.paired.c
    << ", exact p " << fmt(b.paired.p_exact, 4) << ", mid-p " << fmt(b.paired.p_mid, 4) << "\n";
  o << "members voting per answered image: " << fmt(b.mean_kept, 2) << "; kept votes right " << fmt(b.kept_vote_accuracy)
    << " (" << b.kept_votes << "), dropped votes right " << fmt(b.dropped_vote_accuracy) << " (" << b.dropped_votes
    << ")\n";
  o << "\nper class (plain | gated): sensitivity, specificity, PPV\n";
  for (size_t k = 0; k < b.run.classes.size(); ++k)
    o << "  " << pad(b.run.classes[k], 14) << fmt(b.plain.m.sensitivity[k]) << " " << fmt(b.plain.m.specificity[k])
      << " " << fmt(b.plain.m.ppv[k]) << "  |  " << fmt(b.gated.m.sensitivity[k]) << " "
      << fmt(b.gated.m.specificity[k]) << " " << fmt(b.gated.m.ppv[k]) << "\n";
  o << "\n" << pad("member", 20) << pad("share median [q1, q3]", 24) << pad("dropped", 9) << pad("acc kept", 10)
    << "acc dropped\n";
  for (const auto& g : b.member_gate)
    o << pad(g.name, 20) << pad(fmt(g.median) + " [" + fmt(g.q1) + ", " + fmt(g.q3) + "]", 24)
      << pad(fmt(g.drop_rate), 9) << pad(fmt(g.accuracy_kept), 10) << fmt(g.accuracy_dropped) << "\n";
  o << "\n" << to_string(b.setting.gate.criterion) << " tau   coverage  accuracy  plain same  bal.acc  kept/img\n";
  for (const auto& c : b.curve)
    o << pad(fmt(c.tau, 3), 11) << pad(fmt(c.coverage), 10) << pad(fmt(c.accuracy), 10)
      << pad(fmt(c.plain_accuracy_same), 12) << pad(fmt(c.balanced_accuracy), 9) << fmt(c.mean_kept, 2) << "\n";
  if (!warn.empty()) o << "\n" << bar << "\n" << warn << "\n" << bar << "\n";
  return o.str();
}

void write_bench_files(const BenchResult& b, const fs::path& out) {
  json j;
  if (b.untrained()) j["warning"] = untrained_warning(b.run);
  j["untrained_members"] = b.run.untrained;
  j["run"] = {{"dir", b.run_dir.string()}, {"results", b.results_file.string()}, {"task", b.run.task},
              {"classes", b.run.classes}, {"members", b.run.members}};
  j["setting"] = {{"description", b.setting.describe()},
                  {"plain", b.setting.plain},
                  {"criterion", to_string(b.setting.gate.criterion)},
                  {"tau", b.setting.gate.tau},
                  {"mode", to_string(b.setting.gate.mode)},
                  {"quorum", b.setting.gate.quorum},
                  {"fallback", to_string(b.setting.gate.fallback)},
                  {"vote", to_string(b.setting.vote)}};
  j["images"] = b.images;
  j["labelled"] = b.labelled;
  j["error_rows"] = b.error_rows;
  j["patients"] = b.patients;
  j["bootstrap"] = {{"draws", b.bootstrap}, {"seed", b.seed}, {"level", 0.95}, {"over", "patients"}};
  j["replay_mismatches"] = b.replay_mismatches;
  j["members"] = json::array();
  for (const auto& s : b.members) j["members"].push_back(scored_json(s, b.run.classes));
  j["plain"] = scored_json(b.plain, b.run.classes);
  j["plain_same_images"] = scored_json(b.plain_same, b.run.classes);
  j["gated"] = scored_json(b.gated, b.run.classes);
  j["paired"] = {{"test", "McNemar, gated vs plain on the images the gate answered"},
                 {"plain_right_gated_wrong", b.paired.b},
                 {"plain_wrong_gated_right", b.paired.c},
                 {"p_exact", num(b.paired.p_exact)},
                 {"p_mid", num(b.paired.p_mid)},
                 {"accuracy_gain", num(b.accuracy_gain)},
                 {"accuracy_gain_ci", interval(b.accuracy_gain_ci)}};
  j["kept"] = {{"mean_per_answered_image", num(b.mean_kept)},
               {"histogram", b.kept_histogram},
               {"kept_vote_accuracy", num(b.kept_vote_accuracy)},
               {"kept_votes", b.kept_votes},
               {"dropped_vote_accuracy", num(b.dropped_vote_accuracy)},
               {"dropped_votes", b.dropped_votes}};
  j["member_gate"] = json::array();
  for (const auto& g : b.member_gate)
    j["member_gate"].push_back({{"name", g.name},
                                {"judged", g.judged},
                                {"share", {{"mean", num(g.mean)}, {"min", num(g.min)}, {"q1", num(g.q1)},
                                           {"median", num(g.median)}, {"q3", num(g.q3)}, {"max", num(g.max)}}},
                                {"drop_rate", num(g.drop_rate)},
                                {"accuracy_kept", num(g.accuracy_kept)},
                                {"accuracy_dropped", num(g.accuracy_dropped)}});
  j["curve"] = json::array();
  for (const auto& c : b.curve)
    j["curve"].push_back({{"tau", c.tau},
                          {"coverage", num(c.coverage)},
                          {"accuracy", num(c.accuracy)},
                          {"balanced_accuracy", num(c.balanced_accuracy)},
                          {"plain_accuracy_same_images", num(c.plain_accuracy_same)},
                          {"mean_kept", num(c.mean_kept)}});
  write_file_atomic(out / "bench.json", j.dump(2) + "\n");

  // bench.csv: one row per scored entity; per-class columns by class name.
  std::vector<std::string> header = {"name", "kind", "n", "answered", "coverage", "coverage_lo", "coverage_hi",
                                     "accuracy", "accuracy_lo", "accuracy_hi", "balanced_accuracy",
                                     "balanced_accuracy_lo", "balanced_accuracy_hi", "auc", "auc_lo", "auc_hi"};
  for (const auto& c : b.run.classes)
    for (const char* f : {"sensitivity_", "specificity_", "ppv_"}) header.push_back(f + c);
  for (const char* f : {"share_median", "drop_rate", "accuracy_kept", "accuracy_dropped", "untrained_run"})
    header.push_back(f);
  const auto cell = [](double v) { return report_detail::number(v); };
  std::string csv = csv_line(header);
  for (const Scored* s : all_scored(b)) {
    std::vector<std::string> f = {s->name, s->kind, std::to_string(s->m.n), std::to_string(s->m.answered),
                                  cell(s->m.coverage), cell(s->coverage.lo), cell(s->coverage.hi),
                                  cell(s->m.accuracy), cell(s->accuracy.lo), cell(s->accuracy.hi),
                                  cell(s->m.balanced_accuracy), cell(s->balanced_accuracy.lo),
                                  cell(s->balanced_accuracy.hi), cell(s->m.auc), cell(s->auc.lo), cell(s->auc.hi)};
    for (size_t k = 0; k < b.run.classes.size(); ++k) {
      f.push_back(cell(s->m.sensitivity[k]));
      f.push_back(cell(s->m.specificity[k]));
      f.push_back(cell(s->m.ppv[k]));
    }
    const MemberGateStats* g = nullptr;
    for (const auto& x : b.member_gate)
      if (s->kind == "member" && x.name == s->name) g = &x;
    f.push_back(g ? cell(g->median) : "");
    f.push_back(g ? cell(g->drop_rate) : "");
    f.push_back(g ? cell(g->accuracy_kept) : "");
    f.push_back(g ? cell(g->accuracy_dropped) : "");
    f.push_back(b.untrained() ? "true" : "false");
    csv += csv_line(f);
  }
  write_file_atomic(out / "bench.csv", csv);
}

}  // namespace gradgate
