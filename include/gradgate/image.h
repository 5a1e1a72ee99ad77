#pragma once
// Image loading: any PNG/JPEG/BMP/TIFF, 8- or 16-bit, 1/3/4 channels, any size
// -> a float gray image in [0,1] at the file's own size. No torch here.
#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

namespace gradgate {

// Larger sides are refused before decoding: a chest X-ray is at most a few thousand pixels,
// and a forged header must not make the decoder allocate gigabytes.
constexpr int kMaxImageSide = 16384;

// Returns CV_32FC1 in [0,1]. Throws ImageError naming the file and what is wrong
// (missing, empty, not an image, corrupt/truncated, unsupported depth, too large).
cv::Mat load_gray(const std::filesystem::path& path);

// Converts an already decoded cv::Mat of any depth (8U/16U/32F) and 1/3/4 channels
// to CV_32FC1 in [0,1]. `what` names the source in error messages.
cv::Mat to_gray_float(const cv::Mat& decoded, const std::string& what);

}  // namespace gradgate
