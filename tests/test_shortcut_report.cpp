// The shortcut report on a known answer: two members whose saved maps are replaced by hand,
// one looking at the marker wherever there is one, one always at the lungs. The report must
// find exactly the first one's marked pairs, and the excess gate must drop exactly those.
#include <gtest/gtest.h>

#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "gradgate/classify.h"
#include "gradgate/phantom.h"
#include "gradgate/report.h"
#include "gradgate/shortcut.h"
#include "gradgate/shortcut_report.h"
#include "test_util.h"

using namespace gradgate;
namespace fs = std::filesystem;

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
  bool saw_excess = false;
  for (const auto& g : r.gates) {
    if (g.criterion != GateCriterion::Excess || g.mode != GateMode::Hard || g.tau != 0.5) continue;
    saw_excess = true;
    EXPECT_EQ(g.pairs, 2 * images);
    EXPECT_EQ(g.looked, marked);
    EXPECT_EQ(g.dropped, marked);  // the marker lies outside the lungs: excess < 0
    EXPECT_DOUBLE_EQ(g.precision, 1.0);
    EXPECT_DOUBLE_EQ(g.recall, 1.0);
    EXPECT_DOUBLE_EQ(g.coverage, 1.0);  // quorum 1: member 1 is always kept
  }
  EXPECT_TRUE(saw_excess);
}
