// Preprocess: gray image -> a member's normalised [3,S,S] tensor (resize_to_side, then
// normalise_into); the torch half of what test_image.cpp covered.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/preprocess.h"

using namespace gradgate;

static MemberCard card_at(int64_t side, const Normalization& norm = {}) {
  MemberCard c;
  c.member = "test";
  c.input_side = side;
  c.normalization = norm;
  return c;
}

TEST(Preprocess, ShapeAndNormalisation) {
  const Normalization norm;  // ImageNet
  cv::Mat gray(50, 70, CV_32FC1, cv::Scalar(0.5));
  const torch::Tensor t = preprocess(gray, card_at(32, norm));
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(t.dtype(), torch::kFloat32);
  for (int c = 0; c < 3; ++c) {
    const float expect = (0.5f - norm.mean[c]) / norm.std[c];
    EXPECT_NEAR(t[c].min().item<float>(), expect, 1e-5) << "channel " << c;
    EXPECT_NEAR(t[c].max().item<float>(), expect, 1e-5) << "channel " << c;
  }
}

TEST(Preprocess, ShrinkAveragesAndEnlargeInterpolates) {
  Normalization identity;
  identity.mean = {0.f, 0.f, 0.f};
  identity.std = {1.f, 1.f, 1.f};
  // A 1-pixel checkerboard shrunk 4x by area averaging is uniformly 0.5.
  cv::Mat checker(64, 64, CV_32FC1);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) checker.at<float>(y, x) = ((x + y) % 2) ? 1.f : 0.f;
  const torch::Tensor small = preprocess(checker, card_at(16, identity));
  EXPECT_NEAR(small.min().item<float>(), 0.5f, 1e-5);
  EXPECT_NEAR(small.max().item<float>(), 0.5f, 1e-5);
  // A left-dark/right-bright 2x2 image enlarged stays within [0,1] and keeps its ends.
  cv::Mat tiny = (cv::Mat_<float>(2, 2) << 0.f, 1.f, 0.f, 1.f);
  const torch::Tensor big = preprocess(tiny, card_at(8, identity));
  EXPECT_NEAR(big[0][3][0].item<float>(), 0.f, 1e-5);
  EXPECT_NEAR(big[0][3][7].item<float>(), 1.f, 1e-5);
  const float middle = big[0][3][4].item<float>();
  EXPECT_GT(middle, 0.f);
  EXPECT_LT(middle, 1.f);
}

// The one interpolation rule: area when either side shrinks (even if the other grows),
// bilinear when the image only grows, untouched at the side already.
TEST(Preprocess, ResizeRuleAreaWhenEitherSideShrinks) {
  cv::Mat img(100, 300, CV_32FC1);  // rows 100 < 128 < cols 300
  cv::randu(img, 0.f, 1.f);
  auto resized = [](const cv::Mat& m, int s, int interpolation) {
    cv::Mat out;
    cv::resize(m, out, cv::Size(s, s), 0, 0, interpolation);
    return out;
  };
  EXPECT_EQ(cv::norm(resize_to_side(img, 128), resized(img, 128, cv::INTER_AREA), cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(resized(img, 128, cv::INTER_AREA), resized(img, 128, cv::INTER_LINEAR), cv::NORM_INF), 0.0);
  const cv::Mat grows = img(cv::Rect(0, 0, 90, 60)).clone();
  EXPECT_EQ(cv::norm(resize_to_side(grows, 128), resized(grows, 128, cv::INTER_LINEAR), cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(resized(grows, 128, cv::INTER_AREA), resized(grows, 128, cv::INTER_LINEAR), cv::NORM_INF), 0.0);
  const cv::Mat square = img(cv::Rect(0, 0, 64, 64)).clone();
  EXPECT_EQ(resize_to_side(square, 64).data, square.data);
  EXPECT_THROW(resize_to_side(cv::Mat(), 64), ImageError);
}

TEST(Preprocess, BatchStacksImages) {
  const Normalization norm;
  std::vector<cv::Mat> grays = {cv::Mat(20, 30, CV_32FC1, cv::Scalar(0.0)),
                                cv::Mat(300, 200, CV_32FC1, cv::Scalar(1.0))};
  const torch::Tensor b = preprocess_batch(grays, card_at(24, norm));
  ASSERT_EQ(b.sizes(), (std::vector<int64_t>{2, 3, 24, 24}));
  EXPECT_NEAR(b[0][1][5][5].item<float>(), (0.f - norm.mean[1]) / norm.std[1], 1e-5);
  EXPECT_NEAR(b[1][2][5][5].item<float>(), (1.f - norm.mean[2]) / norm.std[2], 1e-5);
  EXPECT_TRUE(torch::equal(b[1], preprocess(grays[1], card_at(24, norm))));
  EXPECT_THROW(preprocess_batch({}, card_at(24, norm)), ImageError);
  EXPECT_THROW(preprocess(cv::Mat(4, 4, CV_8UC1), card_at(24, norm)), ImageError);
}
