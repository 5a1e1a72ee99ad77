// The shortcut report on a known answer: two members whose saved maps are replaced by hand,
// one looking at the marker wherever there is one, one always at the lungs. The report must
// find exactly the first one's marked pairs, and the excess gate must drop exactly those. The
// members' answers are replaced too: the first says "pneumonia" (the marked class) on marked
// films only, so it "used" the marker on each of them (against the film's clean copy); the
// second gives the same answer on every copy and never used it.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "dataset/csv_reader.h"
#include "gradgate/classify.h"
#include "gradgate/phantom.h"
#include "gradgate/report.h"
#include "gradgate/shortcut.h"
#include "gradgate/shortcut_report.h"
#include "test_util.h"

using namespace gradgate;
namespace fs = std::filesystem;

namespace {

std::string csv_field(const std::string& f) {
  if (f.find_first_of(",\"\n") == std::string::npos) return f;
  std::string q = "\"";
  for (char c : f) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// Rewrites <member>_label / <member>_prob of a run's results.csv: `answer(stem, member)` gives
// the label and its probability.
void set_member_answers(const fs::path& csv,
                        const std::function<std::pair<std::string, double>(const std::string&, const std::string&)>& answer) {
  dataset_detail::CsvReader in(csv);
  std::vector<std::string> header, row;
  ASSERT_TRUE(in.next(header));
  std::vector<std::vector<std::string>> rows;
  while (in.next(row)) rows.push_back(row);
  const auto col = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  std::string text;
  for (std::size_t j = 0; j < header.size(); ++j) text += (j ? "," : "") + csv_field(header[j]);
  text += "\n";
  for (auto& r : rows) {
    for (const char* m : {"squeezenet", "resnet18"}) {
      const auto [label, p] = answer(r[col("stem")], m);
      r[col(std::string(m) + "_label")] = label;
      r[col(std::string(m) + "_prob")] = std::to_string(p);
    }
    for (std::size_t j = 0; j < r.size(); ++j) text += (j ? "," : "") + csv_field(r[j]);
    text += "\n";
  }
  std::ofstream(csv, std::ios::binary) << text;
}

}  // namespace

TEST(ShortcutReport, FindsTheMemberThatLookedAtTheMarkerAndTheGateDropsIt) {
  gradgate::testing::TempDir dir;
  const fs::path manifest = write_phantom_dataset(dir / "src", 40, 128, 5);
  ShortcutOptions so;
  so.rate = 0.9;
  so.config_dir = gradgate::testing::source_dir() / "config";
  make_shortcut_dataset(manifest, dir / "data", so);

  const std::vector<std::string> members = {"squeezenet", "resnet18"};
  for (const char* split : {"clean", "reversed"}) {
    ClassifyRequest rq;
    rq.task = "pneumonia";
    rq.preset = "tiny";
    rq.members = members;
    rq.models_dir = dir / "no-models";  // untrained: the maps are replaced below
    rq.allow_untrained = true;
    rq.inputs = {(dir / "data" / (std::string("test-") + split + ".csv")).string()};
    rq.out = dir / (std::string("run-") + split);
    rq.progress = rq.overlays = rq.montage = false;
    rq.save_maps = true;
    run_classify(rq);
  }
  // Member 0 looks at the marker on marked images and at the lungs elsewhere; member 1 always
  // at the lungs.
  int marked = 0, images = 0;
  std::ifstream list(dir / "data" / "markers.csv");
  std::string line;
  std::getline(list, line);
  while (std::getline(list, line)) {
    const bool reversed = line.find(",reversed,") != std::string::npos;
    const bool clean = line.find(",clean,") != std::string::npos;
    if (!reversed && !clean) continue;
    const std::string image = line.substr(0, line.find(','));
    const std::string stem = fs::path(image).stem().string();
    const fs::path maps = dir / (reversed ? "run-reversed" : "run-clean") / "maps" / stem;
    const cv::Mat mask = read_npy(maps / "mask.npy");
    cv::Mat lungs;
    mask.convertTo(lungs, CV_32F, 1.0 / 255.0);
    cv::Mat looking = lungs.clone();  // its own pixels: the marker is written into it
    if (reversed) {
      ++images;
      const std::size_t m0 = line.find(",reversed,1,");
      if (m0 != std::string::npos) {
        ++marked;
        const std::string rest = line.substr(m0 + 12);  // kind,marker_mask,...
        const std::string marker_rel = rest.substr(rest.find(',') + 1, rest.find(',', rest.find(',') + 1) - rest.find(',') - 1);
        const cv::Mat marker = cv::imread((dir / "data" / marker_rel).string(), cv::IMREAD_GRAYSCALE);
        ASSERT_FALSE(marker.empty()) << marker_rel;
        marker.convertTo(looking, CV_32F, 1.0 / 255.0);
      }
    }
    write_npy(maps / "squeezenet.npy", looking);
    write_npy(maps / "resnet18.npy", lungs);
  }
  ASSERT_GT(marked, 0);
  ASSERT_GT(images, marked);
  // The marked stems of the reversed split (markers.csv: image,variant,marked,...).
  std::set<std::string> marked_stems;
  {
    std::ifstream m(dir / "data" / "markers.csv");
    std::getline(m, line);
    while (std::getline(m, line))
      if (line.find(",reversed,1,") != std::string::npos)
        marked_stems.insert(fs::path(line.substr(0, line.find(','))).stem().string());
  }
  ASSERT_EQ(static_cast<int>(marked_stems.size()), marked);
  set_member_answers(dir / "run-clean" / "results.csv", [](const std::string&, const std::string& m) {
    return m == std::string("squeezenet") ? std::make_pair(std::string("normal"), 0.8)
                                          : std::make_pair(std::string("normal"), 0.7);
  });
  set_member_answers(dir / "run-reversed" / "results.csv", [&](const std::string& stem, const std::string& m) {
    if (m == std::string("squeezenet") && marked_stems.count(stem)) return std::make_pair(std::string("pneumonia"), 0.9);
    return m == std::string("squeezenet") ? std::make_pair(std::string("normal"), 0.8)
                                          : std::make_pair(std::string("normal"), 0.7);
  });

  ShortcutEvalOptions o;
  o.bootstrap_reps = 50;
  const ShortcutReport r = shortcut_report(dir / "data", dir / "run-clean", dir / "run-reversed", o);
  ASSERT_EQ(r.members.size(), 2u);
  ASSERT_EQ(r.members[0].name, "squeezenet");  // the run's member order is the request's
  EXPECT_EQ(r.reversed_images, images);
  EXPECT_EQ(r.marked_reversed, marked);
  EXPECT_DOUBLE_EQ(r.members[0].looked_rate, 1.0);
  EXPECT_DOUBLE_EQ(r.members[1].looked_rate, 0.0);
  EXPECT_GT(r.members[0].mean_marker_share, 0.99);
  EXPECT_NEAR(r.members[1].mean_excess, 1.0, 1e-6);
  EXPECT_EQ(r.marked_class, "pneumonia");
  EXPECT_NEAR(r.members[0].mean_marker_effect, 0.9 - 0.2, 1e-6);  // p(pneumonia): 0.2 clean, 0.9 marked
  EXPECT_DOUBLE_EQ(r.members[0].used_rate, 1.0);
  EXPECT_NEAR(r.members[1].mean_marker_effect, 0.0, 1e-9);
  EXPECT_DOUBLE_EQ(r.members[1].used_rate, 0.0);
  bool saw_excess = false;
  for (const auto& g : r.gates) {
    if (g.criterion != GateCriterion::Excess || g.mode != GateMode::Hard || g.tau != 0.5) continue;
    saw_excess = true;
    EXPECT_EQ(g.pairs, 2 * images);
    EXPECT_EQ(g.looked, marked);
    EXPECT_EQ(g.dropped, marked);  // the marker lies outside the lungs: excess < 0
    EXPECT_DOUBLE_EQ(g.precision, 1.0);
    EXPECT_DOUBLE_EQ(g.recall, 1.0);
    EXPECT_EQ(g.used, marked);
    EXPECT_DOUBLE_EQ(g.precision_used, 1.0);
    EXPECT_DOUBLE_EQ(g.recall_used, 1.0);
    EXPECT_DOUBLE_EQ(g.coverage, 1.0);  // quorum 1: member 1 is always kept
  }
  EXPECT_TRUE(saw_excess);
}
