// ensemble-bench's figures (PNG, written atomically through common/png.h): the threshold
// curves, ROC curves, share distributions, confusion matrices and per-member contact sheets
// of the run's own overlays.
#include <algorithm>
#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "evaluate/plot.h"
#include "gradgate/bench.h"
#include "gradgate/common/png.h"
#include "gradgate/report.h"

namespace fs = std::filesystem;

namespace gradgate {

namespace {

// One member's overlays over the run's images, as the study showed one network over its
// validation images: tiles with a green (kept) or red (dropped) border. Empty when the run
// wrote no overlays.
cv::Mat contact_sheet(const RunResults& results, const Decisions& gated, size_t member, int max_images) {
  const int tile = 128, cols = 8;
  std::vector<cv::Mat> tiles;
  const std::string file = sanitize_stem(results.run.members[member]) + ".png";
  for (size_t i = 0; i < results.rows.size() && static_cast<int>(tiles.size()) < max_images; ++i) {
    const auto& row = results.rows[i];
    if (row.overlays.empty()) continue;
    cv::Mat img = cv::imread((results.dir / row.overlays / file).string(), cv::IMREAD_COLOR);
    if (img.empty()) continue;
    const double s = static_cast<double>(tile - 6) / std::max(img.cols, img.rows);
    cv::resize(img, img, {}, s, s, cv::INTER_AREA);
    cv::Mat t(tile, tile, CV_8UC3, cv::Scalar(255, 255, 255));
    const bool kept = gated.member_kept[i][member];
    cv::rectangle(t, {0, 0, tile, tile}, kept ? cv::Scalar(0, 170, 0) : cv::Scalar(0, 0, 220), 3);
    img.copyTo(t(cv::Rect((tile - img.cols) / 2, (tile - img.rows) / 2, img.cols, img.rows)));
    tiles.push_back(t);
  }
  if (tiles.empty()) return {};
  const int rows = (static_cast<int>(tiles.size()) + cols - 1) / cols;
  cv::Mat sheet(rows * tile + 30, cols * tile, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(sheet, results.run.members[member] + ": green kept, red dropped", {6, 20}, cv::FONT_HERSHEY_SIMPLEX,
              0.5, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  for (size_t k = 0; k < tiles.size(); ++k)
    tiles[k].copyTo(sheet(cv::Rect(static_cast<int>(k % cols) * tile, 30 + static_cast<int>(k / cols) * tile, tile, tile)));
  return sheet;
}

// Class k's probability per row (NaN where a vote abstained): the ROC's score.
std::vector<double> column(const std::vector<std::vector<double>>& probs, size_t k) {
  std::vector<double> v;
  for (const auto& p : probs) v.push_back(p.size() > k ? p[k] : std::nan(""));
  return v;
}

}  // namespace

std::vector<FigureFile> write_bench_figures(const BenchResult& b, const RunResults& results, const fs::path& out,
                                            int sheet_images) {
  std::vector<FigureFile> files;
  const fs::path dir = out / "figures";
  const auto save = [&](const std::string& name, const cv::Mat& img, const std::string& title,
                        const std::string& caption) {
    if (img.empty()) return;
    write_png_file(dir / name, img);
    files.push_back({"figures/" + name, title, caption});
  };
  const std::string crit = to_string(b.setting.gate.criterion);
  const std::string warn = b.untrained() ? " [UNTRAINED MEMBERS: meaningless]" : "";

  // Accuracy, coverage and members kept against the threshold. Accuracy points resting on
  // fewer than 10 answered images are left out: they swing from 0 to 1 and hide the rest.
  {
    std::vector<double> x, cov, acc, plain_same, bacc, kept;
    for (const auto& c : b.curve) {
      const bool enough = c.coverage * static_cast<double>(b.labelled) >= 10.0;
      x.push_back(c.tau);
      cov.push_back(c.coverage);
      acc.push_back(enough ? c.accuracy : std::nan(""));
      plain_same.push_back(enough ? c.plain_accuracy_same : std::nan(""));
      bacc.push_back(enough ? c.balanced_accuracy : std::nan(""));
      kept.push_back(c.mean_kept);
    }
    if (!x.empty()) {
      const std::string settings = "Hard gate, quorum " + std::to_string(b.setting.gate.quorum) + ", fallback " +
                                   to_string(b.setting.gate.fallback) + ", vote " + to_string(b.setting.vote) + ".";
      double lo = 1.0;
      for (const auto* v : {&acc, &plain_same, &bacc})
        for (double y : *v)
          if (std::isfinite(y)) lo = std::min(lo, y);
      save("threshold_accuracy.png",
           plot::line_chart("accuracy vs " + crit + " threshold" + warn, crit + " threshold tau", "fraction",
                            {{"gated accuracy", x, acc, plot::color(0)},
                             {"plain, same images", x, plain_same, plot::color(1), true},
                             {"gated balanced acc.", x, bacc, plot::color(2)}},
                            {x.front(), x.back()}, {std::max(0.0, std::floor(lo * 20) / 20 - 0.05), 1.0}),
           "Accuracy against the threshold",
           settings + " The plain vote is scored on the images the gate answered at each threshold; points with "
                      "fewer than 10 answered images are left out.");
      save("threshold_coverage.png",
           plot::line_chart("coverage vs " + crit + " threshold" + warn, crit + " threshold tau",
                            "images answered", {{"coverage", x, cov, plot::color(7)}}, {x.front(), x.back()}, {0, 1}),
           "Coverage against the threshold", settings);
      save("threshold_members_kept.png",
           plot::line_chart("members voting per answered image vs " + crit + " threshold" + warn,
                            crit + " threshold tau", "members", {{"members kept", x, kept, plot::color(0)}},
                            {x.front(), x.back()}, {0.0, static_cast<double>(b.run.members.size())}),
           "Members kept against the threshold", "Mean number of members that voted, over the answered images.");
    }
  }

  // ROC curves: plain, gated (answered images) and each member; class 1 against the rest.
  if (!b.truth.empty()) {
    const size_t k = 1;
    std::vector<plot::Series> s;
    const auto roc_series = [&](const std::string& name, const std::vector<std::vector<double>>& probs,
                                cv::Scalar color, bool points) {
      std::vector<double> score;
      std::vector<char> pos;
      const auto col = column(probs, k);
      for (size_t i = 0; i < col.size(); ++i) {
        if (!std::isfinite(col[i])) continue;
        score.push_back(col[i]);
        pos.push_back(b.truth[i] == static_cast<int>(k));
      }
      std::vector<double> x, y;
      for (const auto& p : roc_curve(score, pos)) {
        x.push_back(p.fpr);
        y.push_back(p.tpr);
      }
      plot::Series se{name, x, y, color};
      se.points = points;
      return se;
    };
    for (size_t j = 0; j < b.member_probs.size(); ++j) {
      auto se = roc_series(b.run.members[j], b.member_probs[j], cv::Scalar(210, 210, 210), false);
      se.name = j == 0 ? "members" : "";
      s.push_back(se);
    }
    s.push_back(roc_series("plain", b.plain_probs, plot::color(1), false));
    s.push_back(roc_series("gated (answered)", b.gated_probs, plot::color(0), false));
    save("roc.png",
         plot::line_chart("ROC, " + b.run.classes[k] + " vs rest" + warn, "false positive rate",
                          "true positive rate", s, {0, 1}, {0, 1}, {560, 520}),
         "ROC curves", "Class '" + b.run.classes[k] + "' against the rest: each member (grey), the plain vote, and "
                       "the gated vote on the images it answered.");
  }

  // Each member's in-lung share.
  {
    std::vector<std::string> names;
    std::vector<std::vector<double>> values;
    for (const auto& g : b.member_gate) {
      names.push_back(g.name);
      values.push_back(g.shares);
    }
    save("member_shares.png", plot::box_chart("in-lung share of Grad-CAM mass per member" + warn, names, values,
                                              "share", {0, 1}),
         "In-lung share per member", "Box: quartiles and median; whiskers: min and max; dots: images.");
  }

  save("confusion_plain.png", plot::confusion_chart("plain vote" + warn, b.run.classes, b.plain.m.confusion),
       "Confusion matrix, plain vote", "All labelled images.");
  save("confusion_gated.png",
       plot::confusion_chart("gated: " + b.setting.describe() + warn, b.run.classes, b.gated.m.confusion),
       "Confusion matrix, gated vote", "The images the gate answered.");

  // Contact sheets, from the overlays the run wrote.
  const Decisions gated = replay(results, b.setting);
  for (size_t j = 0; j < b.run.members.size(); ++j)
    save("sheet_" + sanitize_stem(b.run.members[j]) + ".png", contact_sheet(results, gated, j, sheet_images),
         "Contact sheet: " + b.run.members[j],
         "Its Grad-CAM overlays over the first " + std::to_string(sheet_images) + " images of the run.");
  return files;
}

}  // namespace gradgate
