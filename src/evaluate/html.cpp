// report.html of a bench run: one self-contained page (inline CSS, no script, no fonts or
// files from elsewhere), the figures referenced relatively, so the folder opens from disk
// anywhere and can be copied whole.
#include <cmath>
#include <cstdio>

#include "gradgate/bench.h"
#include "gradgate/common/atomic_file.h"
#include "gradgate/common/strings.h"
#include "gradgate/common/utc_time.h"

namespace fs = std::filesystem;

namespace gradgate {

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : utf8_or_escaped(s)) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string f3(double v) {
  if (!std::isfinite(v)) return "&ndash;";
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string ci(double v, const Interval& i) {
  if (!std::isfinite(i.lo)) return f3(v);
  return f3(v) + " <small>[" + f3(i.lo) + ", " + f3(i.hi) + "]</small>";
}

std::string scored_row(const Scored& s, const char* cls = "") {
  return std::string("<tr class=\"") + cls + "\"><td>" + esc(s.name) + "</td><td>" + std::to_string(s.m.n) +
         "</td><td>" + std::to_string(s.m.answered) + "</td><td>" + f3(s.m.coverage) + "</td><td>" +
         ci(s.m.accuracy, s.accuracy) + "</td><td>" + ci(s.m.balanced_accuracy, s.balanced_accuracy) + "</td><td>" +
         ci(s.m.auc, s.auc) + "</td></tr>\n";
}

}  // namespace

void write_bench_html(const BenchResult& b, const std::vector<FigureFile>& figures, const fs::path& out,
                      const ReportPage& page) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>gradgate " + esc(page.tool) + ": " + esc(b.run.task) +
      "</title>\n<style>\nbody{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}\n"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}\n"
      "td:first-child,th:first-child{text-align:left}tr.ens{font-weight:bold;background:#eef}\n"
      ".warn{background:#c00;color:#fff;padding:1em;font-size:1.3em;font-weight:bold}\n"
      "figure{display:inline-block;margin:1em;vertical-align:top}figcaption{max-width:700px;font-size:.9em}\n"
      "img{max-width:100%;border:1px solid #ddd}small{color:#555}\n</style></head><body>\n";
  const std::string warn = untrained_warning(b.run);
  if (!warn.empty()) h += "<p class=\"warn\">" + esc(warn) + "</p>\n";
  h += "<h1>gradgate " + esc(page.tool) + ": " + esc(b.run.task) + "</h1>\n<p>Run <code>" + esc(b.run_dir.string()) + "</code>: " +
       std::to_string(b.labelled) + " labelled images of " + std::to_string(b.images) + ", " +
       std::to_string(b.patients) + " patients, " + std::to_string(b.run.members.size()) +
       " members. Gated setting: <b>" + esc(b.setting.describe()) + "</b> (" + esc(page.setting_from) +
       "). 95% intervals: bootstrap over "
       "patients, " + std::to_string(b.bootstrap) + " draws, seed " + std::to_string(b.seed) + ". Written " +
       iso_utc_now() + ".</p>\n";
  h += page.extra_html;
  h += "<h2>Accuracy</h2>\n<table><tr><th></th><th>n</th><th>answered</th><th>coverage</th><th>accuracy</th>"
       "<th>balanced accuracy</th><th>AUC</th></tr>\n";
  h += scored_row(b.plain, "ens") + scored_row(b.gated, "ens") + scored_row(b.plain_same, "ens");
  for (const auto& s : b.members) h += scored_row(s);
  h += "</table>\n<p>Gated vs plain on the " + std::to_string(b.gated.m.answered) + " images the gate answered: " +
       "accuracy gain " + f3(b.accuracy_gain) +
       (std::isfinite(b.accuracy_gain_ci.lo) ? " [" + f3(b.accuracy_gain_ci.lo) + ", " + f3(b.accuracy_gain_ci.hi) + "]"
                                             : std::string()) +
       "; McNemar: plain right and gated wrong " + std::to_string(b.paired.b) + ", the reverse " +
       std::to_string(b.paired.c) + ", exact p = " + f3(b.paired.p_exact) + ", mid-p = " + f3(b.paired.p_mid) +
       ".</p>\n<p>Members voting per answered image: " + f3(b.mean_kept) + ". Kept member votes right " +
       f3(b.kept_vote_accuracy) + " (" + std::to_string(b.kept_votes) + "), dropped ones " +
       f3(b.dropped_vote_accuracy) + " (" + std::to_string(b.dropped_votes) + ").</p>\n";
  h += "<h2>Per class</h2>\n<table><tr><th>class</th><th>plain sens.</th><th>spec.</th><th>PPV</th>"
       "<th>gated sens.</th><th>spec.</th><th>PPV</th></tr>\n";
  for (size_t k = 0; k < b.run.classes.size(); ++k)
    h += "<tr><td>" + esc(b.run.classes[k]) + "</td><td>" + f3(b.plain.m.sensitivity[k]) + "</td><td>" +
         f3(b.plain.m.specificity[k]) + "</td><td>" + f3(b.plain.m.ppv[k]) + "</td><td>" +
         f3(b.gated.m.sensitivity[k]) + "</td><td>" + f3(b.gated.m.specificity[k]) + "</td><td>" +
         f3(b.gated.m.ppv[k]) + "</td></tr>\n";
  h += "</table>\n<h2>The gate, member by member</h2>\n<table><tr><th>member</th><th>judged</th><th>share median</th>"
       "<th>q1</th><th>q3</th><th>dropped</th><th>accuracy kept</th><th>accuracy dropped</th></tr>\n";
  for (const auto& g : b.member_gate)
    h += "<tr><td>" + esc(g.name) + "</td><td>" + std::to_string(g.judged) + "</td><td>" + f3(g.median) +
         "</td><td>" + f3(g.q1) + "</td><td>" + f3(g.q3) + "</td><td>" + f3(g.drop_rate) + "</td><td>" +
         f3(g.accuracy_kept) + "</td><td>" + f3(g.accuracy_dropped) + "</td></tr>\n";
  h += "</table>\n<h2>Figures</h2>\n";
  for (const auto& f : figures)
    h += "<figure><img src=\"" + esc(f.file) + "\" alt=\"" + esc(f.title) + "\"><figcaption><b>" + esc(f.title) +
         ".</b> " + esc(f.caption) + "</figcaption></figure>\n";
  h += "<p>Tables as data: <a href=\"bench.json\">bench.json</a>, <a href=\"bench.csv\">bench.csv</a>.</p>\n";
  if (!warn.empty()) h += "<p class=\"warn\">" + esc(warn) + "</p>\n";
  h += "</body></html>\n";
  write_file_atomic(out / "report.html", h);
}

}  // namespace gradgate
