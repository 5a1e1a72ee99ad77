#include <gtest/gtest.h>

#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "gradgate/phantom.h"
#include "test_util.h"

using namespace gradgate;

TEST(Phantom, LungsAreDarkerThanBodyAndMaskCoversBothFields) {
  Phantom p = make_phantom({128, "normal", false, 3});
  ASSERT_EQ(p.image.size(), cv::Size(128, 128));
  ASSERT_EQ(p.lungs.type(), CV_8U);
  const double lung_area = cv::countNonZero(p.lungs) / double(128 * 128);
  EXPECT_GT(lung_area, 0.08);
  EXPECT_LT(lung_area, 0.35);
  const double in_lung = cv::mean(p.image, p.lungs)[0];
  const double outside = cv::mean(p.image, 255 - p.lungs)[0];
  EXPECT_LT(in_lung, outside);
  // Both lungs: the mask has pixels in the left and the right half.
  EXPECT_GT(cv::countNonZero(p.lungs.colRange(0, 64)), 100);
  EXPECT_GT(cv::countNonZero(p.lungs.colRange(64, 128)), 100);
}

TEST(Phantom, OpacityRaisesLungBrightnessAndSeedIsDeterministic) {
  Phantom normal = make_phantom({128, "normal", false, 5});
  Phantom bact = make_phantom({128, "bacterial", false, 5});
  Phantom again = make_phantom({128, "bacterial", false, 5});
  EXPECT_GT(cv::mean(bact.image, bact.lungs)[0], cv::mean(normal.image, normal.lungs)[0] + 2.0);
  EXPECT_EQ(cv::norm(bact.image, again.image, cv::NORM_INF), 0.0);
}

TEST(Phantom, BadOptionsAreErrors) {
  EXPECT_THROW(make_phantom({8, "normal", false, 0}), std::exception);
  EXPECT_THROW(make_phantom({64, "flu", false, 0}), std::exception);
}

TEST(Phantom, DatasetWritesManifestImagesAndMasks) {
  gradgate::testing::TempDir dir;
  auto manifest = write_phantom_dataset(dir.path(), 5, 64, 1);
  ASSERT_TRUE(std::filesystem::exists(manifest));
  std::ifstream in(manifest);
  std::string line;
  int rows = -1;
  while (std::getline(in, line)) ++rows;
  EXPECT_EQ(rows, 20);
  cv::Mat m = cv::imread((dir / "masks/covid-4.png").string(), cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(m.empty());
  EXPECT_EQ(m.cols, 64);
}
