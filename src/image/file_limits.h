#pragma once
// image.h's limits, as far as they can be checked before any pixel is decoded: the file
// (regular, at most kMaxImageFileBytes) and the size its header declares. One copy for the
// OpenCV formats (load.cpp) and DICOM (dicom.cpp), so both refuse with the same words.
#include <cstdint>
#include <filesystem>
#include <string>

namespace gradgate::image_detail {

// Throws ImageError "<what>: <reason>" unless `path` is a regular file (regular_file.h) of
// 1 to kMaxImageFileBytes bytes.
void check_image_file(const std::filesystem::path& path, const std::string& what);

// Throws ImageError "<what>: image of WxH pixels is too large (...)" when a side exceeds
// kMaxImageSide or width x height exceeds max_image_pixels().
void check_image_size(int64_t width, int64_t height, const std::string& what);

}  // namespace gradgate::image_detail
