// The explicit bilinear weights behind upsample_map and the gate's projected masks.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "gradgate/bilinear.h"
#include "gradgate/gate.h"
#include "gradgate/gradcam.h"

using namespace gradgate;

namespace {

cv::Mat random_map(cv::Size s, uint64_t seed) {
  cv::Mat m(s, CV_32FC1);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0.0, 1.0);
  return m;
}

// An elliptic "lung" on a non-square image, 0/255.
cv::Mat ellipse_mask(cv::Size s, double cx_frac) {
  cv::Mat m = cv::Mat::zeros(s, CV_8UC1);
  cv::ellipse(m, cv::Point(static_cast<int>(s.width * cx_frac), s.height / 2),
              cv::Size(s.width / 6, s.height / 3), 0, 0, 360, cv::Scalar(255), cv::FILLED);
  return m;
}

const std::vector<std::pair<cv::Size, cv::Size>> kCases = {
    {{4, 4}, {37, 53}}, {{7, 7}, {224, 224}}, {{3, 5}, {301, 199}}, {{8, 8}, {8, 8}}, {{1, 1}, {9, 4}}};

}  // namespace

TEST(Bilinear, ResizeMatchesOpenCvInterLinear) {
  for (const auto& [small, big] : kCases) {
    const cv::Mat m = random_map(small, 1);
    cv::Mat ref;
    cv::resize(m, ref, big, 0, 0, cv::INTER_LINEAR);
    EXPECT_LT(cv::norm(bilinear_resize(m, big), ref, cv::NORM_INF), 1e-5) << small << " -> " << big;
  }
}

TEST(Bilinear, ResizeMatchesTorchAlignCornersFalse) {
  namespace F = torch::nn::functional;
  for (const auto& [small, big] : kCases) {
    const cv::Mat m = random_map(small, 2);
    const auto t = torch::from_blob(m.data, {1, 1, small.height, small.width}, torch::kFloat32).clone();
    const auto up = F::interpolate(t, F::InterpolateFuncOptions()
                                          .size(std::vector<int64_t>{big.height, big.width})
                                          .mode(torch::kBilinear)
                                          .align_corners(false))
                        .contiguous();
    const cv::Mat ref(big, CV_32FC1, up.data_ptr<float>());
    EXPECT_LT(cv::norm(bilinear_resize(m, big), ref, cv::NORM_INF), 1e-5) << small << " -> " << big;
  }
}

TEST(Bilinear, ProjectIsTheAdjointOfResize) {
  for (const auto& [small, big] : kCases) {
    const cv::Mat m = random_map(small, 3), b = random_map(big, 4);
    cv::Mat up64, m64;
    bilinear_resize(m, big).convertTo(up64, CV_64F);
    m.convertTo(m64, CV_64F);
    cv::Mat b64;
    b.convertTo(b64, CV_64F);
    const double lhs = up64.dot(b64);
    const double rhs = m64.dot(bilinear_project(b, small));
    EXPECT_NEAR(lhs, rhs, 1e-5 * std::abs(lhs)) << small << " -> " << big;
  }
}

TEST(Bilinear, TapsRejectEmptySizes) {
  EXPECT_THROW(bilinear_taps(0, 3), std::invalid_argument);
  EXPECT_THROW(bilinear_taps(3, 0), std::invalid_argument);
  EXPECT_THROW(bilinear_project(cv::Mat(4, 4, CV_16UC1), {2, 2}), std::invalid_argument);
}

TEST(ProjectedGate, ShareEqualsTheShareOfTheUpsampledMap) {
  for (const auto& [small, big] : kCases) {
    for (double cx : {0.3, 0.5, 0.9}) {
      const cv::Mat mask = ellipse_mask(big, cx);
      cv::Mat soft;
      mask.convertTo(soft, CV_32F, 0.7 / 255.0);  // a soft mask: weights 0 or 0.7
      const cv::Mat low = random_map(small, 7);
      const auto t = torch::from_blob(low.data, {small.height, small.width}, torch::kFloat32);
      const cv::Mat up = upsample_map(t, big);
      for (const cv::Mat& mk : {mask, soft}) {
        const LungShare full = lung_share(up, mk);
        const LungShare fast = lung_share(low, project_mask(mk, small));
        ASSERT_EQ(full.status, fast.status);
        EXPECT_NEAR(fast.share, full.share, 1e-6) << small << " -> " << big << " cx " << cx;
        EXPECT_NEAR(fast.lift, full.lift, 1e-5);
        EXPECT_NEAR(fast.mask_fraction, full.mask_fraction, 1e-9);
      }
    }
  }
}

TEST(ProjectedGate, EmptyMaskEmptyMapAndBadMaps) {
  const cv::Size small(4, 4), big(40, 30);
  const auto empty_mask = project_mask(cv::Mat::zeros(big, CV_8UC1), small);
  EXPECT_EQ(lung_share(random_map(small, 1), empty_mask).status, GateStatus::EmptyMask);
  const auto p = project_mask(ellipse_mask(big, 0.5), small);
  const LungShare zero = lung_share(cv::Mat::zeros(small, CV_32FC1), p);
  EXPECT_EQ(zero.status, GateStatus::EmptyMap);
  EXPECT_EQ(zero.share, 0.0);
  cv::Mat neg = random_map(small, 2);
  neg.at<float>(1, 1) = -0.5f;
  EXPECT_THROW(lung_share(neg, p), std::invalid_argument);
  cv::Mat nan = random_map(small, 2);
  nan.at<float>(0, 0) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(lung_share(nan, p), std::invalid_argument);
  EXPECT_THROW(lung_share(random_map({5, 4}, 1), p), std::invalid_argument);  // wrong grid
  cv::Mat bad_soft(big, CV_32FC1, cv::Scalar(1.5));
  EXPECT_THROW(project_mask(bad_soft, small), std::invalid_argument);
}
