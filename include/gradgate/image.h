#pragma once
// Image loading: any PNG/JPEG/BMP/TIFF, 8- or 16-bit, 1/3/4 channels, any size, or a
// single-frame DICOM -> a float gray image in [0,1] at the file's own size. No torch here.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace gradgate {

// Limits, decided here once for images and masks alike and checked from the file's header
// BEFORE decoding: a chest X-ray is at most a few thousand pixels a side (15 MP for a large
// detector), and a forged 886-byte JPEG header claiming 16000x16000 must not make the decoder
// allocate gigabytes. docs/outputs.md, "Limits".
constexpr int kMaxImageSide = 16384;
// Pixels (width x height) of one image or mask: 50 MP decodes to at most 200 MB as float.
constexpr int64_t kDefaultMaxImagePixels = 50'000'000;
// Encoded file size: the largest legitimate PNG/TIFF of 50 MP at 16 bits is about 100 MB.
constexpr std::uintmax_t kMaxImageFileBytes = 512ull << 20;
// Images (not masks) smaller than this a side are refused: the members see a resized copy at
// 64-331 px, so a 1x1 or 8x8 "image" would be classified from nothing.
constexpr int kMinImageSide = 32;

// The pixel limit in force: the environment variable GRADGATE_MAX_IMAGE_PIXELS when set to a
// positive integer (read once per process), else kDefaultMaxImagePixels. A malformed value
// is ignored with a warning on stderr.
int64_t max_image_pixels();

// File name extensions read as images (lower case, with the dot): PNG, JPEG, BMP, TIFF, DICOM.
// Folder inputs and folder-per-class data sets list these; a file named explicitly is tried
// whatever its name.
const std::vector<std::string>& image_extensions();
// Whether `p`'s extension (case-insensitive) is one of image_extensions().
bool has_image_extension(const std::filesystem::path& p);

// Reads an image or mask file and decodes it as stored (cv::IMREAD_UNCHANGED): the file must
// be a regular file (regular_file.h) of at most kMaxImageFileBytes, a complete PNG, JPEG, BMP
// or TIFF container whose header declares at most kMaxImageSide a side and
// max_image_pixels() pixels. Throws ImageError "<what>: <reason>"; a DICOM file too (by its
// signature or, failing the others', its .dcm/.dicom name): only load_gray reads DICOM, so
// masks and atlases are never DICOM.
cv::Mat decode_image_file(const std::filesystem::path& path, const std::string& what);

// Returns CV_32FC1 in [0,1]. Throws ImageError naming the file and what is wrong
// (missing, not a regular file, empty, not an image, corrupt/truncated, unsupported depth,
// too large, smaller than kMinImageSide a side). DICOM (the DICM signature, or a .dcm/.dicom
// name) goes through src/image/dicom.h: the file's rescale and window, MONOCHROME1 inverted;
// multi-frame files and undecodable transfer syntaxes are refused.
cv::Mat load_gray(const std::filesystem::path& path);

// Converts an already decoded cv::Mat of any depth (8U/16U/32F) and 1/3/4 channels
// to CV_32FC1 in [0,1]. `what` names the source in error messages.
cv::Mat to_gray_float(const cv::Mat& decoded, const std::string& what);

}  // namespace gradgate
