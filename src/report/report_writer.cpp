// One run's outputs: run.json, the result rows, overlays, montages and raw maps.
#include <chrono>
#include <cstdio>
#include <tuple>

#include "gradgate/common/png.h"
#include "gradgate/error.h"
#include "gradgate/report.h"
#include "report/format.h"

namespace fs = std::filesystem;
using namespace gradgate::report_detail;

namespace gradgate {

ReportWriter::ReportWriter(ReportOptions options, RunInfo run)
    : options_(std::move(options)), run_(std::move(run)), started_(std::chrono::system_clock::now()) {
  if (run_.date.empty()) run_.date = iso_utc_now();
  if (options_.render.gate_text.empty()) {
    char tau[32];
    std::snprintf(tau, sizeof tau, "%.3f", run_.gate.tau);
    options_.render.gate_text = run_.gate.mode == GateMode::Soft
                                    ? "soft, votes weighted by max(0, excess)"
                                    : std::string(to_string(run_.gate.criterion)) + " >= " + tau + ", quorum " +
                                          std::to_string(run_.gate.quorum);
  }
  results_ = std::make_unique<ResultWriter>(options_.out_dir, run_, options_.results);
  if (options_.results) write_run_json(false);
}

ReportWriter::~ReportWriter() = default;

void ReportWriter::write_run_json(bool finished) {
  const auto strings = [](const std::vector<std::string>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + json_string(v[i]);
    return s + "]";
  };
  std::string j = "{\n";
  j += "  \"gradgate_version\": " + json_string(run_.version) + ",\n";
  j += "  \"date\": " + json_string(run_.date) + ",\n";
  j += "  \"finished\": " + std::string(json_bool(finished)) + ",\n";
  if (finished) {
    const double seconds = std::chrono::duration<double>(std::chrono::system_clock::now() - started_).count();
    j += "  \"finished_date\": " + json_string(iso_utc_now()) + ",\n";
    j += "  \"seconds\": " + json_number(seconds, 4) + ",\n";
    j += "  \"counts\": {\"images\": " + std::to_string(counts_.images) + ", \"ok\": " + std::to_string(counts_.ok) +
         ", \"errors\": " + std::to_string(counts_.errors) + ", \"abstained\": " + std::to_string(counts_.abstained) +
         "},\n";
  }
  j += "  \"task\": " + json_string(run_.task) + ",\n";
  j += "  \"classes\": " + strings(run_.classes) + ",\n";
  j += "  \"members\": " + strings(run_.members) + ",\n";
  j += "  \"untrained_members\": " + strings(run_.untrained) + ",\n";
  j += "  \"preset\": " + json_string(run_.preset) + ",\n";
  j += "  \"gate\": " + json_string(to_string(run_.gate.criterion)) + ",\n";
  j += "  \"gate_mode\": " + json_string(to_string(run_.gate.mode)) + ",\n";
  j += "  \"tau\": " + json_number(run_.gate.tau, 9) + ",\n";
  j += "  \"quorum\": " + std::to_string(run_.gate.quorum) + ",\n";
  j += "  \"fallback\": " + json_string(to_string(run_.gate.fallback)) + ",\n";
  j += "  \"vote\": " + json_string(to_string(run_.vote)) + ",\n";
  j += "  \"gate_source\": " + json_string(run_.gate_source) + ",\n";
  j += "  \"cam\": " + json_string(to_string(run_.cam)) + ",\n";
  j += "  \"cam_layer\": " + json_string(to_string(run_.cam_layer)) + ",\n";
  j += "  \"domain\": {\"mode\": " + json_string(to_string(run_.domain_mode)) +
       ", \"model\": " + (run_.domain_model.empty() ? std::string("null") : json_string(run_.domain_model)) +
       ", \"rule\": " + json_string(run_.domain_rule) + ", \"note\": " + json_string(run_.domain_note) + "},\n";
  j += "  \"inputs\": " + strings(run_.inputs) + ",\n";
  j += "  \"outputs\": {\"overlays\": " + std::string(json_bool(options_.overlays)) +
       ", \"montage\": " + json_bool(options_.montage) + ", \"save_maps\": " + json_bool(options_.save_maps) + "}\n";
  j += "}\n";
  write_file_atomic(options_.out_dir / "run.json", j);
}

void ReportWriter::add(const ImageOutcome& o) {
  // Only rows with outputs take a stem (an error row has none): a run streaming a million
  // unreadable paths keeps no name for them.
  append(prepare(o, o.ok ? names_.stem_for(o.image) : std::string()));
}

PreparedRow ReportWriter::prepare(const ImageOutcome& o, const std::string& stem) {
  std::map<std::string, std::string> outputs;
  if (o.ok) {
    const fs::path& out = options_.out_dir;
    std::vector<std::string> files(o.members.size());
    for (size_t i = 0; i < o.members.size(); ++i) files[i] = sanitize_stem(o.members[i].name);
    if (options_.overlays && !o.gray.empty()) {
      const auto overlays = render_overlays(o, run_.classes, options_.render);
      for (size_t i = 0; i < overlays.size(); ++i) {
        const std::string rel = "overlays/" + stem + "/" + files[i] + ".png";
        write_png_file(out / rel, overlays[i]);
      }
      outputs["overlays"] = "overlays/" + stem;
    }
    if (options_.montage && !o.gray.empty()) {
      const std::string rel = "montage/" + stem + ".png";
      write_png_file(out / rel, render_montage(o, run_.classes, options_.render));
      outputs["montage"] = rel;
    }
    if (options_.save_maps) {
      bool any = false;
      for (size_t i = 0; i < o.members.size(); ++i) {
        if (o.members[i].map.empty()) continue;
        write_npy(out / "maps" / stem / (files[i] + ".npy"), o.members[i].map);
        any = true;
      }
      if (!o.mask.mask.empty()) {
        write_npy(out / "maps" / stem / "mask.npy", o.mask.mask);
        any = true;
      }
      if (any) outputs["maps"] = "maps/" + stem;
    }
  }
  PreparedRow row;
  std::tie(row.csv, row.json) = results_->format(o, stem, outputs);
  row.ok = o.ok;
  row.abstained = o.ok && (o.vote.abstained || o.gate.abstain);
  return row;
}

void ReportWriter::append(const PreparedRow& row) {
  results_->append(row.csv, row.json);
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_.images;
  if (!row.ok) ++counts_.errors;
  else {
    ++counts_.ok;
    if (row.abstained) ++counts_.abstained;
  }
}

void ReportWriter::finish() {
  if (!options_.results) return;
  results_->finish();
  std::lock_guard<std::mutex> lock(mutex_);
  write_run_json(true);
}

}  // namespace gradgate
