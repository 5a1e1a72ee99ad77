// results.csv / results.jsonl: one row per image, streamed into .part files.
// Not write_file_atomic_with (gradgate/common/atomic_file.h): these files are filled over the
// whole run, one flushed row per image, and a killed run must leave them behind under a fixed,
// documented name (`results.csv.part`, docs/outputs.md) with the rows done so far; the atomic
// primitive's temp file is private to one call and removed on failure. The rename at finish()
// is the same last step.
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "gradgate/common/strings.h"
#include "gradgate/error.h"
#include "gradgate/report.h"
#include "report/format.h"

namespace fs = std::filesystem;
using namespace gradgate::report_detail;

namespace gradgate {

namespace {

std::string label_name(const std::vector<std::string>& classes, int label) {
  if (label < 0) return "";
  if (label < static_cast<int>(classes.size())) return classes[label];
  return "class" + std::to_string(label);
}

const char* csv_bool(bool b) { return b ? "true" : "false"; }

// Share of lung pixels in the image: from the mask, else from any member's gate result.
double mask_fraction(const ImageOutcome& o) {
  if (!o.mask.mask.empty())
    return static_cast<double>(cv::countNonZero(o.mask.mask)) / static_cast<double>(o.mask.mask.total());
  for (const auto& m : o.members) return m.share.mask_fraction;
  return std::nan("");
}

std::string abstain_reason(const ImageOutcome& o) {
  if (!o.vote.abstained && !o.gate.abstain) return "";
  return !o.vote.reason.empty() ? o.vote.reason : o.gate.reason;
}

// The plain ensemble's vote (every member, no gate): on every row, abstained or not.
VoteResult plain_of(const ImageOutcome& o, VoteRule rule) {
  std::vector<std::vector<double>> probs;
  for (const auto& m : o.members)
    if (!m.probs.empty()) probs.push_back(m.probs);
  return plain_vote(probs, rule);
}

int count_kept(const ImageOutcome& o) {
  int n = 0;
  for (const auto& m : o.members) n += m.kept ? 1 : 0;
  return n;
}

std::FILE* open_part(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw Error("cannot write " + path.string() + ": " + std::strerror(errno));
  return f;
}

void put(std::FILE* f, const std::string& text, const fs::path& path) {
  if (std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fflush(f) != 0)
    throw Error("cannot write " + path.string() + ": " + std::strerror(errno));
}

const char* kCsvPart = "results.csv.part";
const char* kJsonlPart = "results.jsonl.part";

}  // namespace

ResultWriter::ResultWriter(const fs::path& out_dir, const RunInfo& run, bool open_files)
    : run_(run), dir_(out_dir) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw Error("cannot create output folder " + dir_.string() + ": " + ec.message());

  columns_ = {"image", "stem", "status", "error", "true_label", "label", "probability"};
  for (const auto& c : run_.classes) columns_.push_back("prob_" + c);
  columns_.push_back("plain_label");
  columns_.push_back("plain_probability");
  for (const char* c : {"abstained", "abstain_reason", "fallback_used", "gate_reason", "vote_note", "num_members",
                        "num_passed", "num_kept", "mask_source", "mask_warnings", "mask_fraction",
                        "untrained_members", "domain_score", "out_of_domain"})
    columns_.push_back(c);
  for (const auto& m : run_.members)
    for (const char* f : {"_label", "_prob", "_share", "_lift", "_excess", "_status", "_passed", "_kept"})
      columns_.push_back(m + f);

  if (!open_files) {
    finished_ = true;  // nothing to append to
    return;
  }
  csv_ = open_part(dir_ / kCsvPart);
  try {
    jsonl_ = open_part(dir_ / kJsonlPart);
    put(csv_, csv_line(columns_), dir_ / kCsvPart);
  } catch (...) {
    std::fclose(csv_);
    if (jsonl_) std::fclose(jsonl_);
    csv_ = jsonl_ = nullptr;
    throw;
  }
}

ResultWriter::~ResultWriter() {
  if (csv_) std::fclose(csv_);
  if (jsonl_) std::fclose(jsonl_);
}

size_t ResultWriter::rows() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rows_;
}

std::string ResultWriter::csv_row(const ImageOutcome& o, const std::string& stem) const {
  std::vector<std::string> f;
  f.reserve(columns_.size());
  f.push_back(escape_path_bytes(o.image.string()));
  f.push_back(o.ok ? stem : "");
  f.push_back(o.ok ? "ok" : "error");
  f.push_back(utf8_or_escaped(o.error));
  f.push_back(o.truth);
  if (!o.ok) {
    f.resize(columns_.size());
    // The untrained members are a property of the run, true for error rows too.
    for (size_t i = 0; i < columns_.size(); ++i)
      if (columns_[i] == "untrained_members") f[i] = join(run_.untrained, ";");
    return csv_line(f);
  }
  const bool has_label = o.vote.label >= 0 && !o.vote.abstained;
  f.push_back(has_label ? label_name(run_.classes, o.vote.label) : "");
  f.push_back(has_label ? number(o.vote.probability) : "");
  for (size_t k = 0; k < run_.classes.size(); ++k)
    f.push_back(k < o.vote.class_probs.size() ? number(o.vote.class_probs[k]) : "");
  const VoteResult plain = plain_of(o, run_.vote);
  f.push_back(plain.abstained ? "" : label_name(run_.classes, plain.label));
  f.push_back(plain.abstained ? "" : number(plain.probability));
  const bool abstained = o.vote.abstained || o.gate.abstain;
  f.push_back(csv_bool(abstained));
  f.push_back(utf8_or_escaped(abstain_reason(o)));
  f.push_back(csv_bool(o.gate.fallback_used));
  f.push_back(utf8_or_escaped(o.gate.reason));
  f.push_back(utf8_or_escaped(o.vote.note));
  f.push_back(std::to_string(o.members.size()));
  f.push_back(std::to_string(o.gate.num_passed));
  f.push_back(std::to_string(count_kept(o)));
  f.push_back(to_string(o.mask.source));
  f.push_back(utf8_or_escaped(join(o.mask.warnings, "; ")));
  f.push_back(number(mask_fraction(o)));
  f.push_back(join(run_.untrained, ";"));
  f.push_back(o.domain.checked ? number(o.domain.score) : "");
  f.push_back(o.domain.checked ? csv_bool(o.domain.flagged) : "");

  std::vector<const MemberOutcome*> by_column(run_.members.size(), nullptr);
  for (const auto& m : o.members) {
    size_t j = 0;
    while (j < run_.members.size() && run_.members[j] != m.name) ++j;
    if (j == run_.members.size())
      throw std::invalid_argument("ResultWriter: member '" + m.name + "' of image " + o.image.string() +
                                  " is not among the run's members");
    by_column[j] = &m;
  }
  for (const MemberOutcome* m : by_column) {
    if (!m) {
      f.insert(f.end(), 8, "");
      continue;
    }
    f.push_back(label_name(run_.classes, m->label));
    f.push_back(number(m->probability));
    const bool judged = m->share.status == GateStatus::Ok;
    f.push_back(judged ? number(m->share.share) : "");
    f.push_back(judged ? number(m->share.lift) : "");
    f.push_back(judged ? number(m->share.excess) : "");
    f.push_back(to_string(m->share.status));
    f.push_back(csv_bool(m->passed));
    f.push_back(csv_bool(m->kept));
  }
  return csv_line(f);
}

std::string ResultWriter::json_row(const ImageOutcome& o, const std::string& stem,
                                   const std::map<std::string, std::string>& outputs) const {
  const auto probs_object = [&](const std::vector<double>& p) {
    std::string s = "{";
    for (size_t k = 0; k < p.size(); ++k) {
      if (k) s += ", ";
      s += json_string(label_name(run_.classes, static_cast<int>(k))) + ": " + json_number(p[k]);
    }
    return s + "}";
  };
  const auto string_array = [](const std::vector<std::string>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + json_string(v[i]);
    return s + "]";
  };

  std::string j = "{\"image\": " + json_string(escape_path_bytes(o.image.string()));
  j += ", \"status\": " + json_string(o.ok ? "ok" : "error");
  j += ", \"true_label\": " + (o.truth.empty() ? std::string("null") : json_string(o.truth));
  // On every row, as in the CSV: a row read on its own still says its members were random.
  j += ", \"untrained_members\": " + string_array(run_.untrained);
  if (!o.ok) return j + ", \"error\": " + json_string(utf8_or_escaped(o.error)) + "}\n";
  j += ", \"stem\": " + json_string(stem);
  const bool has_label = o.vote.label >= 0 && !o.vote.abstained;
  j += ", \"label\": " + (has_label ? json_string(label_name(run_.classes, o.vote.label)) : std::string("null"));
  j += ", \"label_index\": " + std::to_string(has_label ? o.vote.label : -1);
  j += ", \"probability\": " + (has_label ? json_number(o.vote.probability) : std::string("null"));
  j += ", \"class_probs\": " + probs_object(o.vote.class_probs);
  const VoteResult plain = plain_of(o, run_.vote);
  j += ", \"plain\": {\"label\": " +
       (plain.abstained ? std::string("null") : json_string(label_name(run_.classes, plain.label))) +
       ", \"label_index\": " + std::to_string(plain.abstained ? -1 : plain.label) +
       ", \"probability\": " + (plain.abstained ? std::string("null") : json_number(plain.probability)) +
       ", \"class_probs\": " + probs_object(plain.class_probs) + "}";
  j += ", \"abstained\": " + std::string(json_bool(o.vote.abstained || o.gate.abstain));
  j += ", \"abstain_reason\": " + json_string(abstain_reason(o));
  j += ", \"vote\": {\"votes\": [";
  for (size_t k = 0; k < o.vote.votes.size(); ++k) j += (k ? ", " : "") + std::to_string(o.vote.votes[k]);
  j += "], \"note\": " + json_string(o.vote.note) + "}";
  j += ", \"gate\": {\"num_members\": " + std::to_string(o.members.size()) +
       ", \"num_passed\": " + std::to_string(o.gate.num_passed) + ", \"num_kept\": " + std::to_string(count_kept(o)) +
       ", \"fallback_used\": " + json_bool(o.gate.fallback_used) + ", \"reason\": " + json_string(o.gate.reason) + "}";
  j += ", \"mask\": {\"source\": " + json_string(to_string(o.mask.source)) +
       ", \"warnings\": " + string_array(o.mask.warnings) + ", \"fraction\": " + json_number(mask_fraction(o)) + "}";
  j += ", \"domain\": {\"score\": " + (o.domain.checked ? json_number(o.domain.score) : std::string("null")) +
       ", \"out_of_domain\": " + (o.domain.checked ? std::string(json_bool(o.domain.flagged)) : std::string("null")) +
       ", \"member_score\": " + (o.domain.checked ? json_number(o.domain.member_score) : std::string("null")) +
       ", \"image_score\": " + (o.domain.checked ? json_number(o.domain.image_score) : std::string("null")) +
       ", \"members\": " + std::to_string(o.domain.members) + ", \"reason\": " + json_string(o.domain.reason) + "}";
  j += ", \"members\": [";
  for (size_t i = 0; i < o.members.size(); ++i) {
    const auto& m = o.members[i];
    const bool judged = m.share.status == GateStatus::Ok;
    j += i ? ", " : "";
    j += "{\"name\": " + json_string(m.name) + ", \"label\": " +
         (m.label >= 0 ? json_string(label_name(run_.classes, m.label)) : std::string("null")) +
         ", \"label_index\": " + std::to_string(m.label) + ", \"probability\": " + json_number(m.probability) +
         ", \"probs\": " + probs_object(m.probs) +
         ", \"share\": " + (judged ? json_number(m.share.share) : std::string("null")) +
         ", \"lift\": " + (judged ? json_number(m.share.lift) : std::string("null")) +
         ", \"excess\": " + (judged ? json_number(m.share.excess) : std::string("null")) +
         // the weight a weighted vote gave it (hard gate: its share; soft gate: its evidence)
         ", \"weight\": " + (i < o.gate.weights.size() ? json_number(o.gate.weights[i]) : std::string("null")) +
         ", \"status\": " + json_string(to_string(m.share.status)) + ", \"passed\": " + json_bool(m.passed) +
         ", \"kept\": " + json_bool(m.kept) + "}";
  }
  j += "], \"outputs\": {";
  bool first = true;
  for (const auto& [k, v] : outputs) {
    j += (first ? "" : ", ") + json_string(k) + ": " + json_string(v);
    first = false;
  }
  j += "}}\n";
  return j;
}

std::pair<std::string, std::string> ResultWriter::format(
    const ImageOutcome& o, const std::string& stem, const std::map<std::string, std::string>& outputs) const {
  return {csv_row(o, stem), json_row(o, stem, outputs)};
}

void ResultWriter::add(const ImageOutcome& o, const std::string& stem,
                       const std::map<std::string, std::string>& outputs) {
  // Formatting outside the lock; the lock only orders the two appends.
  const auto [csv, json] = format(o, stem, outputs);
  append(csv, json);
}

void ResultWriter::append(const std::string& csv, const std::string& json) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) throw std::logic_error("ResultWriter::add after finish()");
  put(csv_, csv, dir_ / kCsvPart);
  put(jsonl_, json, dir_ / kJsonlPart);
  ++rows_;
}

void ResultWriter::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_ || !csv_) return;
  finished_ = true;
  const auto close_and_rename = [&](std::FILE*& f, const char* part, const char* final_name) {
    const bool ok = std::fclose(f) == 0;
    f = nullptr;
    if (!ok) throw Error("cannot write " + (dir_ / part).string() + ": " + std::strerror(errno));
    std::error_code ec;
    fs::rename(dir_ / part, dir_ / final_name, ec);
    if (ec) throw Error("cannot rename " + (dir_ / part).string() + " to " + final_name + ": " + ec.message());
  };
  close_and_rename(csv_, kCsvPart, "results.csv");
  close_and_rename(jsonl_, kJsonlPart, "results.jsonl");
}

}  // namespace gradgate
