// loso.csv and loso.md: the leave-one-source-out table of the domain check (domain.h).
#include <cmath>
#include <cstdio>

#include "gradgate/common/atomic_file.h"
#include "gradgate/domain.h"
#include "report/format.h"

namespace gradgate {

namespace fs = std::filesystem;
using report_detail::csv_line;
using report_detail::number;

namespace {

std::string share(int64_t part, int64_t whole) {
  if (whole <= 0) return "";
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", static_cast<double>(part) / static_cast<double>(whole));
  return b;
}

std::string fixed2(double v) {
  if (!std::isfinite(v)) return "";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

}  // namespace

std::string write_loso_files(const LosoResult& r, const fs::path& dir) {
  std::string csv = csv_line({"source", "fitted", "train_images", "val_images", "source_images", "source_flagged",
                              "source_flagged_share", "source_median_score", "test_images", "test_flagged",
                              "test_flagged_share", "test_median_score", "note"});
  std::string md = "Task " + r.task +
                   ": each source left out of fitting and calibration in turn; its images (all splits and "
                   "diagnoses) against the task's own test split without it.\n\n"
                   "| left out | fitted on (train / val) | its images flagged | own test split flagged | "
                   "median score (its images / test) |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& row : r.rows) {
    csv += csv_line({row.source, row.fitted ? "true" : "false", std::to_string(row.train_images),
                     std::to_string(row.val_images), std::to_string(row.source_images),
                     row.fitted ? std::to_string(row.source_flagged) : "",
                     row.fitted ? share(row.source_flagged, row.source_images) : "",
                     number(row.source_median_score), std::to_string(row.test_images),
                     row.fitted ? std::to_string(row.test_flagged) : "",
                     row.fitted ? share(row.test_flagged, row.test_images) : "", number(row.test_median_score),
                     row.note});
    if (!row.fitted) {
      md += "| " + row.source + " | " + std::to_string(row.train_images) + " / " + std::to_string(row.val_images) +
            " | " + row.note + " | | |\n";
      continue;
    }
    md += "| " + row.source + " | " + std::to_string(row.train_images) + " / " + std::to_string(row.val_images) +
          " | " + std::to_string(row.source_flagged) + " / " + std::to_string(row.source_images) + " (" +
          share(row.source_flagged, row.source_images) + ") | " + std::to_string(row.test_flagged) + " / " +
          std::to_string(row.test_images) + " (" + share(row.test_flagged, row.test_images) + ") | " +
          fixed2(row.source_median_score) + " / " + fixed2(row.test_median_score) + " |\n";
  }
  write_file_atomic(dir / "loso.csv", csv);
  write_file_atomic(dir / "loso.md", md);
  return md;
}

}  // namespace gradgate
