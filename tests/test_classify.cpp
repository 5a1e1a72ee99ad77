// End to end: run_classify (what ensemble-classify does) on phantoms plus a corrupt file.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "gradgate/classify.h"
#include "gradgate/ensemble.h"
#include "gradgate/image.h"
#include "gradgate/phantom.h"
#include "gradgate/report.h"
#include "gradgate/zoo/registry.h"
#include "gradgate/zoo/weights.h"
#include "test_util.h"

using namespace gradgate;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// Phantom radiographs (gray [0,1]) with their lung masks as mask-file masks.
void phantom_batch(const std::vector<PhantomOptions>& specs, std::vector<cv::Mat>* grays,
                   std::vector<LungMask>* masks) {
  for (const auto& spec : specs) {
    Phantom p = make_phantom(spec);
    cv::Mat g;
    p.image.convertTo(g, CV_32F, 1.0 / 255.0);
    grays->push_back(g);
    LungMask m;
    m.mask = p.lungs;
    m.source = LungMask::Source::File;
    masks->push_back(m);
  }
}

}  // namespace

TEST(Classify, PhantomsAndACorruptFileGiveOneRowEachAndCountTheFailure) {
  gradgate::testing::TempDir dir;
  write_phantom_dataset(dir / "data", 1, 96, 3);  // 4 images with masks beside them
  { std::ofstream(dir / "data/images/broken.png") << "not a png"; }
  ClassifyRequest rq;
  rq.task = "covid-vs-all";
  rq.preset = "tiny";
  rq.members = {"resnet18", "squeezenet", "darknet19"};
  rq.models_dir = dir / "no-models";  // no manifest: untrained members, said loudly
  rq.allow_untrained = true;
  rq.inputs = {(dir / "data/images").string()};
  rq.out = dir / "out";
  rq.progress = false;
  rq.batch = 3;
  const ClassifySummary s = run_classify(rq);
  EXPECT_EQ(s.images, 5);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.untrained.size(), 3u);

  const auto csv = read_lines(rq.out / "results.csv");
  ASSERT_EQ(csv.size(), 6u);  // header + 5 rows
  EXPECT_NE(csv[0].find("resnet18_share"), std::string::npos);
  int errors = 0, file_masks = 0;
  for (size_t i = 1; i < csv.size(); ++i) {
    if (csv[i].find("broken.png") != std::string::npos) {
      ++errors;
      EXPECT_NE(csv[i].find(",error,"), std::string::npos) << csv[i];
    }
    if (csv[i].find(",file,") != std::string::npos) ++file_masks;
  }
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(file_masks, 4);  // the phantoms' masks were found beside them
  EXPECT_TRUE(fs::exists(rq.out / "results.jsonl"));
  EXPECT_TRUE(fs::exists(rq.out / "run.json"));
  EXPECT_FALSE(fs::exists(rq.out / "results.csv.part"));
  EXPECT_TRUE(fs::exists(rq.out / "montage"));
}

// Issue 16: members with random weights never pass for a result. Without --allow-untrained a
// task with no models folder is an error naming the folder and the ways out, and nothing is
// written; with it, every JSONL row lists the untrained members and the montage's decision
// tile carries the red UNTRAINED band.
TEST(Classify, UntrainedMembersAreRefusedUnlessAllowedAndThenMarked) {
  gradgate::testing::TempDir dir;
  write_phantom_dataset(dir / "data", 1, 96, 1);
  ClassifyRequest rq;
  rq.task = "pneumonia";
  rq.preset = "tiny";
  rq.members = {"resnet18", "squeezenet"};
  rq.models_dir = dir / "no-models";
  rq.inputs = {(dir / "data/images").string()};
  rq.out = dir / "out";
  rq.progress = false;
  rq.overlays = false;
  const std::string err = gradgate::testing::error_of([&] { run_classify(rq); });
  EXPECT_TRUE(gradgate::testing::contains(err, (dir / "no-models").string())) << err;
  EXPECT_TRUE(gradgate::testing::contains(err, "--allow-untrained")) << err;
  EXPECT_TRUE(gradgate::testing::contains(err, "ensemble-train")) << err;
  EXPECT_FALSE(fs::exists(rq.out));

  rq.allow_untrained = true;
  const ClassifySummary s = run_classify(rq);
  ASSERT_GT(s.images, 0);
  std::ifstream jsonl(rq.out / "results.jsonl");
  std::string line;
  int rows = 0;
  while (std::getline(jsonl, line)) {
    ++rows;
    EXPECT_TRUE(gradgate::testing::contains(line, "\"untrained_members\": [\"resnet18\", \"squeezenet\"]")) << line;
  }
  EXPECT_EQ(rows, s.images);

  const fs::path montage = *fs::directory_iterator(rq.out / "montage");
  const cv::Mat m = cv::imread(montage.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(m.empty());
  const MontageLayout l = montage_layout(2, RenderOptions{});
  cv::Mat red;
  cv::inRange(m(cv::Rect(0, 0, l.tile_width, l.tile_height)), cv::Scalar(0, 0, 230), cv::Scalar(0, 0, 230), red);
  EXPECT_GT(cv::countNonZero(red), l.tile_width * 10) << "no red UNTRAINED band on the decision tile";
}

TEST(Classify, UnknownTaskAndMissingInputAreErrors) {
  gradgate::testing::TempDir dir;
  ClassifyRequest rq;
  rq.task = "covid-vs-flu";
  rq.inputs = {"x.png"};
  rq.out = dir / "out";
  EXPECT_THROW(run_classify(rq), std::exception);
  rq.task = "pneumonia";
  rq.inputs = {(dir / "does-not-exist.png").string()};
  try {
    run_classify(rq);
    FAIL() << "expected an error for a missing input";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("does-not-exist.png"), std::string::npos);
  }
}

// A member at 64 px and width 1/8 with the default (ImageNet) normalisation.
static MemberCard tiny_card(const std::string& name) {
  MemberCard c;
  c.member = name;
  c.preset = "tiny";
  c.input_side = 64;
  c.width = 0.125;
  c.feature_layer = member_info(name).feature_layer;
  return c;
}

// Each member's input is normalised with its own card: the same weights at the same side
// give other probabilities under another normalisation, and the same under the same one.
TEST(Ensemble, EachMemberGetsItsOwnNormalisation) {
  gradgate::testing::TempDir tmp;
  std::vector<cv::Mat> grays;
  std::vector<LungMask> masks;
  phantom_batch({{96, "viral", false, 4}, {80, "normal", false, 5}}, &grays, &masks);
  torch::manual_seed(9);
  Member net = make_member("resnet18", {2, 0.125, 64});
  save_state_dict(*net, (tmp / "w.pt").string());
  EnsembleOptions eo;
  eo.classes = {"normal", "pneumonia"};
  eo.mode = RunMode::Serial;
  MemberCard other = tiny_card("resnet18");
  other.normalization.mean = {0.1f, 0.1f, 0.1f};
  other.normalization.std = {0.5f, 0.5f, 0.5f};
  eo.members = {{tiny_card("resnet18"), tmp / "w.pt"}, {other, tmp / "w.pt"}, {tiny_card("resnet18"), tmp / "w.pt"}};
  Ensemble ens(eo);
  const auto p = ens.forward_only(grays);  // [member][image][class]
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0], p[2]);  // same card, same weights: the same numbers
  double diff = 0;
  for (size_t i = 0; i < grays.size(); ++i)
    for (size_t k = 0; k < 2; ++k) diff = std::max(diff, std::abs(p[0][i][k] - p[1][i][k]));
  EXPECT_GT(diff, 1e-6) << "member 1 was not fed its own normalisation";
  // The gated path (classify) prepares inputs the same way.
  const auto out = ens.classify(grays, masks);
  ASSERT_EQ(out.size(), grays.size());
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_NEAR(out[i].members[0].probs[k], p[0][i][k], 1e-5);
      EXPECT_NEAR(out[i].members[1].probs[k], p[1][i][k], 1e-5);
    }
  }
}

TEST(Ensemble, ParallelEqualsSerialOnPhantoms) {
  std::vector<cv::Mat> grays;
  std::vector<LungMask> masks;
  phantom_batch({{96, "normal", false, 0}, {96, "viral", false, 1}, {96, "viral", false, 2}}, &grays, &masks);
  EnsembleOptions eo;
  eo.classes = {"normal", "pneumonia"};
  for (const char* name : {"resnet18", "mobilenetv2", "darknet19"})
    eo.members.push_back({tiny_card(name), {}, {}});
  eo.gate.quorum = 1;
  eo.gate.tau = 0.2;
  torch::manual_seed(5);
  Ensemble parallel(eo);
  eo.mode = RunMode::Serial;
  torch::manual_seed(5);
  Ensemble serial(eo);
  const auto a = parallel.classify(grays, masks);
  const auto b = serial.classify(grays, masks);
  ASSERT_EQ(a.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].vote.label, b[i].vote.label);
    EXPECT_EQ(a[i].vote.abstained, b[i].vote.abstained);
    for (size_t j = 0; j < a[i].members.size(); ++j) {
      EXPECT_EQ(a[i].members[j].probs, b[i].members[j].probs) << i << " " << j;
      EXPECT_EQ(a[i].members[j].share.share, b[i].members[j].share.share);
      EXPECT_EQ(cv::norm(a[i].members[j].map, b[i].members[j].map, cv::NORM_INF), 0.0);
    }
  }
}

// The ensemble judges members on the feature grid (projected masks); that must equal the gate
// applied to each member's map upsampled to the image, as the issue defines the share.
TEST(Ensemble, GridSharesEqualFullResolutionShares) {
  std::vector<cv::Mat> grays;
  std::vector<LungMask> masks;
  phantom_batch({{80, "viral", false, 10}, {117, "viral", false, 11}}, &grays, &masks);
  EnsembleOptions eo;
  eo.classes = {"normal", "pneumonia"};
  for (const char* name : {"resnet18", "squeezenet", "darknet19"})
    eo.members.push_back({tiny_card(name), {}, {}});
  eo.gate.quorum = 1;
  torch::manual_seed(3);
  Ensemble ens(eo);
  const auto out = ens.classify(grays, masks);
  int judged = 0;
  for (size_t i = 0; i < out.size(); ++i)
    for (const auto& mo : out[i].members) {
      ASSERT_EQ(mo.map.size(), grays[i].size());
      const LungShare full = lung_share(mo.map, masks[i].mask);
      EXPECT_EQ(full.status, mo.share.status) << mo.name;
      EXPECT_NEAR(full.share, mo.share.share, 1e-6) << mo.name;
      EXPECT_NEAR(full.lift, mo.share.lift, 1e-5) << mo.name;
      judged += full.status == GateStatus::Ok;
    }
  EXPECT_GT(judged, 0);
}
