// Lung masks through the provider (which builds the U-Net segmenter, so these need torch):
// reading/resizing mask files, empty masks, the atlas placed, the U-Net, the segmenter.
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
#include "png_fixture.h"
#include "test_util.h"

namespace gradgate {
namespace {

using testing::TempDir;

// Dice floors for the committed segmenter on 20 val images (set from the measured figures).
constexpr double kAdultDiceFloor = 0.90;
constexpr double kChildDiceFloor = 0.90;
namespace fs = std::filesystem;

using testing::touch_png;

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
  // A lung-like mask (an all-white one is refused by mask_validity, with a warning).
  cv::Mat lungs = cv::Mat::zeros(20, 30, CV_8UC1);
  lungs(cv::Rect(5, 2, 20, 16)).setTo(255);
  ASSERT_TRUE(cv::imwrite((tmp / "a_mask.png").string(), lungs));
  LungMaskProvider provider(LungMaskProviderOptions{});
  LungMask m = provider.for_image(cv::Mat(20, 30, CV_32FC1, cv::Scalar(0.5)), image);
  EXPECT_EQ(m.source, LungMask::Source::File);
  EXPECT_TRUE(m.warnings.empty());
  EXPECT_TRUE(m.invalid.empty());
  EXPECT_EQ(cv::countNonZero(m.mask), 320);
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
