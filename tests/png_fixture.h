#pragma once
// A white 8-bit PNG at a path (folders created): a stand-in image or mask file for tests of
// file lookup and loading.
#include <gtest/gtest.h>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>

namespace gradgate::testing {

inline void touch_png(const std::filesystem::path& p, cv::Size size = {8, 8}) {
  std::filesystem::create_directories(p.parent_path());
  ASSERT_TRUE(cv::imwrite(p.string(), cv::Mat(size, CV_8UC1, cv::Scalar(255))));
}

}  // namespace gradgate::testing
