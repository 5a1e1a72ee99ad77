#pragma once
// PNG bytes of an image, for write_file_atomic: cv::imwrite cannot write through a temp file
// (it picks the format from the file name's extension), so images are encoded here and the
// bytes written atomically. No torch here.
#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

namespace gradgate {

// The PNG encoding of `image` (8- or 16-bit, 1, 3 or 4 channels). `path` is the file the
// bytes are for, named in the error: ImageError "cannot write <path>: PNG encoding failed".
std::string encode_png(const cv::Mat& image, const std::filesystem::path& path);

// write_file_atomic(path, encode_png(image, path)).
void write_png_file(const std::filesystem::path& path, const cv::Mat& image);

}  // namespace gradgate
