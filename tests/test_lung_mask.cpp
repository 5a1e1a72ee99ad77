// Lung masks: the file naming rule, reading/resizing, empty masks, the atlas, the U-Net.
#include <fstream>
#include <iostream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/lung_atlas.h"
#include "gradgate/lung_mask.h"
#include "gradgate/lung_mask_train.h"
#include "gradgate/lung_segmenter.h"
#include "gradgate/lung_unet.h"
#include "test_util.h"

namespace gradgate {
namespace {

using testing::TempDir;

// Dice floors for the committed segmenter on 20 val images (set from the measured figures).
constexpr double kAdultDiceFloor = 0.90;
constexpr double kChildDiceFloor = 0.90;
namespace fs = std::filesystem;

void touch_png(const fs::path& p, cv::Size size = {8, 8}) {
  fs::create_directories(p.parent_path());
  ASSERT_TRUE(cv::imwrite(p.string(), cv::Mat(size, CV_8UC1, cv::Scalar(255))));
}

TEST(LungMaskFile, NamingRuleTriesCandidatesInDocumentedOrder) {
  TempDir tmp;
  const fs::path image = tmp / "images" / "kids" / "x1.jpeg";
  touch_png(image);
  EXPECT_FALSE(find_mask_beside(image));
  // d. images/<sub>/x1.jpeg -> masks/<sub>/x1.png
  touch_png(tmp / "masks" / "kids" / "x1.png");
  EXPECT_EQ(find_mask_beside(image), tmp / "masks" / "kids" / "x1.png");
  // c. ../masks/x1.png beats d.
  touch_png(tmp / "images" / "masks" / "x1.png");
  EXPECT_EQ(find_mask_beside(image), tmp / "images" / "masks" / "x1.png");
  // b. x1.mask.png beats c.
  touch_png(tmp / "images" / "kids" / "x1.mask.png");
  EXPECT_EQ(find_mask_beside(image), tmp / "images" / "kids" / "x1.mask.png");
  // a. x1_mask.png beats everything.
  touch_png(tmp / "images" / "kids" / "x1_mask.png");
  EXPECT_EQ(find_mask_beside(image), tmp / "images" / "kids" / "x1_mask.png");
}

TEST(LungMaskFile, SixteenBitMaskOfOtherSizeIsResizedWithWarning) {
  TempDir tmp;
  cv::Mat m16 = cv::Mat::zeros(10, 20, CV_16UC1);
  m16(cv::Rect(0, 0, 10, 10)).setTo(1);  // any value > 0 is lung
  ASSERT_TRUE(cv::imwrite((tmp / "m.png").string(), m16));
  LungMaskProvider provider(LungMaskProviderOptions{});
  cv::Mat gray(40, 80, CV_32FC1, cv::Scalar(0.5));
  LungMask m = provider.get(gray, tmp / "m.png");
  EXPECT_EQ(m.source, LungMask::Source::File);
  ASSERT_EQ(m.mask.size(), gray.size());
  ASSERT_EQ(m.mask.type(), CV_8UC1);
  EXPECT_EQ(cv::countNonZero(m.mask), 40 * 40);
  EXPECT_EQ(m.mask.at<uint8_t>(5, 5), 255);
  ASSERT_EQ(m.warnings.size(), 1u);
  EXPECT_NE(m.warnings[0].find("resized"), std::string::npos) << m.warnings[0];
  EXPECT_FALSE(m.empty());
}

TEST(LungMaskFile, SameSizeMaskHasNoWarningAndForImageFindsIt) {
  TempDir tmp;
  const fs::path image = tmp / "a.png";
  touch_png(image, {30, 20});
  touch_png(tmp / "a_mask.png", {30, 20});
  LungMaskProvider provider(LungMaskProviderOptions{});
  LungMask m = provider.for_image(cv::Mat(20, 30, CV_32FC1, cv::Scalar(0.5)), image);
  EXPECT_EQ(m.source, LungMask::Source::File);
  EXPECT_TRUE(m.warnings.empty());
  EXPECT_EQ(cv::countNonZero(m.mask), 600);
}

TEST(LungMaskFile, EmptyMaskIsReturnedAsEmpty) {
  TempDir tmp;
  ASSERT_TRUE(cv::imwrite((tmp / "zero.png").string(), cv::Mat::zeros(16, 16, CV_8UC1)));
  LungMaskProvider provider(LungMaskProviderOptions{});
  LungMask m = provider.get(cv::Mat(16, 16, CV_32FC1, cv::Scalar(0.3)), tmp / "zero.png");
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.source, LungMask::Source::File);
  EXPECT_EQ(m.mask.size(), cv::Size(16, 16));
  EXPECT_FALSE(m.warnings.empty());
}

TEST(LungMaskFile, MissingOrCorruptExplicitMaskIsAnImageError) {
  TempDir tmp;
  LungMaskProvider provider(LungMaskProviderOptions{});
  cv::Mat gray(16, 16, CV_32FC1, cv::Scalar(0.3));
  EXPECT_THROW(provider.get(gray, tmp / "nope.png"), ImageError);
  std::ofstream(tmp / "bad.png") << "not a png";
  EXPECT_THROW(provider.get(gray, tmp / "bad.png"), ImageError);
}

TEST(LungMaskProvider, NoSourceConfiguredIsAConfigError) {
  LungMaskProvider provider(LungMaskProviderOptions{});
  EXPECT_THROW(provider.get(cv::Mat(16, 16, CV_32FC1, cv::Scalar(0.3))), ConfigError);
}

TEST(LungMaskPostprocess, KeepsTwoLargestComponentsAndFillsHoles) {
  cv::Mat m = cv::Mat::zeros(100, 100, CV_8UC1);
  cv::rectangle(m, cv::Rect(5, 5, 30, 60), 255, cv::FILLED);    // left lung, with a hole
  cv::rectangle(m, cv::Rect(15, 20, 5, 5), 0, cv::FILLED);
  cv::rectangle(m, cv::Rect(60, 5, 30, 50), 255, cv::FILLED);   // right lung
  cv::rectangle(m, cv::Rect(60, 80, 5, 5), 255, cv::FILLED);    // speck: dropped
  cv::Mat out = keep_two_largest_and_fill(m);
  EXPECT_EQ(cv::countNonZero(out), 30 * 60 + 30 * 50);
  EXPECT_EQ(out.at<uint8_t>(22, 17), 255);
  EXPECT_EQ(out.at<uint8_t>(82, 62), 0);
}

TEST(LungAtlas, PlacedInsideTheBodyOfASyntheticImage) {
  cv::Mat gray = cv::Mat::zeros(240, 320, CV_32FC1);
  const cv::Rect body(60, 30, 200, 190);
  gray(body).setTo(0.8);
  std::vector<std::string> warnings;
  const cv::Rect box = body_box(gray, &warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_LE(std::abs(box.x - body.x) + std::abs(box.y - body.y), 4);
  EXPECT_LE(std::abs(box.width - body.width) + std::abs(box.height - body.height), 4);

  const LungAtlas atlas = LungAtlas::load(default_lung_mask_options().atlas);
  LungMaskProviderOptions o;
  o.atlas = default_lung_mask_options().atlas;
  LungMask m = LungMaskProvider(o).get(gray);
  EXPECT_EQ(m.source, LungMask::Source::Atlas);
  ASSERT_EQ(m.mask.size(), gray.size());
  const int inside = cv::countNonZero(m.mask(body));
  EXPECT_GT(inside, body.area() / 5);  // lungs fill a good part of the chest
  EXPECT_EQ(cv::countNonZero(m.mask), inside);  // and nothing lies outside the body
}

TEST(LungAtlas, BuilderAveragesMasksInBodyBoxCoordinates) {
  LungAtlasBuilder builder(32);
  for (int shift : {0, 40}) {  // the same body and mask, moved: the atlas must not blur
    cv::Mat gray = cv::Mat::zeros(200, 200, CV_32FC1);
    cv::Mat mask = cv::Mat::zeros(200, 200, CV_8UC1);
    gray(cv::Rect(20 + shift, 20, 100, 160)).setTo(0.9);
    mask(cv::Rect(20 + shift, 20, 50, 160)).setTo(255);  // left half of the body
    builder.add(gray, mask);
  }
  cv::Mat p = builder.build().probability();
  EXPECT_NEAR(p.at<float>(16, 4), 1.0f, 1e-3);
  EXPECT_NEAR(p.at<float>(16, 28), 0.0f, 1e-3);
}

TEST(LungUNet, ForwardKeepsSpatialShapeAndRoundTripsThroughFile) {
  torch::manual_seed(0);
  UNet net(UNetOptions(4, 3, 64));
  net->eval();
  auto x = torch::randn({2, 1, 64, 64});
  auto y = net->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 1, 64, 64}));
  TempDir tmp;
  save_unet(net, tmp / "u.pt");
  UNet back = load_unet(tmp / "u.pt");
  EXPECT_EQ(back->options().base_width(), 4);
  EXPECT_EQ(back->options().depth(), 3);
  EXPECT_EQ(back->options().input_side(), 64);
  EXPECT_TRUE(torch::allclose(back->forward(x), y));
  EXPECT_THROW(UNet(UNetOptions(4, 3, 60)), ModelError);
  EXPECT_THROW(load_unet(tmp / "missing.pt"), ModelError);
}

TEST(LungSegmenter, CommittedWeightsGiveAnImageSizeMaskOnASyntheticImage) {
  LungSegmenter seg(default_lung_mask_options().segmenter_weights);
  cv::Mat gray(173, 151, CV_32FC1);
  cv::randu(gray, 0.0f, 1.0f);
  cv::Mat m = seg.segment(gray);
  ASSERT_EQ(m.size(), gray.size());
  ASSERT_EQ(m.type(), CV_8UC1);
  EXPECT_EQ(cv::countNonZero(m == 0) + cv::countNonZero(m == 255), gray.rows * gray.cols);
  LungMask lm = LungMaskProvider(default_lung_mask_options()).get(gray);
  EXPECT_EQ(lm.source, LungMask::Source::Segmenter);
  EXPECT_EQ(lm.mask.size(), gray.size());
}

// Measured on the full val split: see models/lung_unet/README.md. The floor leaves a margin
// for the 20-image sample.
TEST(LungSegmenter, CommittedWeightsReachDiceFloorOnValImages) {
  GRADGATE_REQUIRE_CXR(data);
  const auto val = rows_with_masks(read_mask_rows(data), "val");
  std::vector<MaskRow> sample;
  for (const std::string source : {"cohen", "kermany"}) {
    int taken = 0;
    for (size_t i = 0; i < val.size() && taken < 10; i += 5)
      if (val[i].source == source) sample.push_back(val[i]), ++taken;
  }
  ASSERT_EQ(sample.size(), 20u);
  LungSegmenter seg(default_lung_mask_options().segmenter_weights);
  const auto d = evaluate_segmenter(seg, sample);
  std::cout << "Dice on 20 val images: adults " << d.at("cohen").mean << ", children "
            << d.at("kermany").mean << "\n";
  EXPECT_GE(d.at("cohen").mean, kAdultDiceFloor) << "adults";
  EXPECT_GE(d.at("kermany").mean, kChildDiceFloor) << "children";
}

}  // namespace
}  // namespace gradgate
