// Lung masks, torch-free (gradgate_core_tests): the file naming rule, post-processing, the
// atlas builder. The provider, the U-Net and the segmenter: test_lung_mask_provider.cpp.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/lung_atlas.h"
#include "gradgate/lung_mask.h"
#include "png_fixture.h"
#include "test_util.h"

namespace gradgate {
namespace {

using testing::TempDir;

namespace fs = std::filesystem;

using testing::touch_png;

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

}  // namespace
}  // namespace gradgate
