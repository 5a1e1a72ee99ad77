#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/image.h"
#include "image/container_check.h"
#include "image/dicom.h"
#include "image/file_limits.h"

namespace gradgate {

namespace fs = std::filesystem;
using image_detail::check_container;
using image_detail::check_image_file;
using image_detail::check_image_size;
using image_detail::Format;
using image_detail::format_name;

namespace {

std::vector<uint8_t> read_bytes(const fs::path& path, const std::string& what) {
  check_image_file(path, what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(what + ": cannot open the image file for reading");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ImageError(what + ": read error");
  if (bytes.empty()) throw ImageError(what + ": empty file (0 bytes), not an image");
  if (bytes.size() > kMaxImageFileBytes)  // grew while being read
    throw ImageError(what + ": file is too large for an image");
  return bytes;
}

int64_t pixels_from_env() {
  const char* env = std::getenv("GRADGATE_MAX_IMAGE_PIXELS");
  if (!env || !*env) return kDefaultMaxImagePixels;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(env, &end, 10);
  if (errno != 0 || *end != '\0' || v <= 0) {
    std::cerr << "gradgate: ignoring GRADGATE_MAX_IMAGE_PIXELS=" << env
              << " (expected a positive integer); using " << kDefaultMaxImagePixels << "\n";
    return kDefaultMaxImagePixels;
  }
  return v;
}

}  // namespace

cv::Mat to_gray_float(const cv::Mat& decoded, const std::string& what) {
  if (decoded.empty()) throw ImageError(what + ": no pixels (empty image)");
  double scale = 1.0;
  switch (decoded.depth()) {
    case CV_8U: scale = 1.0 / 255.0; break;
    case CV_16U: scale = 1.0 / 65535.0; break;
    case CV_32F:
    case CV_64F: scale = 1.0; break;  // taken as already in [0,1]; clipped below
    default:
      throw ImageError(what + ": unsupported pixel depth (expected 8- or 16-bit unsigned, or float)");
  }
  cv::Mat f;
  decoded.convertTo(f, CV_32F, scale);
  cv::Mat gray;
  switch (f.channels()) {
    case 1: gray = f; break;
    case 2: cv::extractChannel(f, gray, 0); break;  // gray + alpha: the alpha is not the picture
    case 3: cv::cvtColor(f, gray, cv::COLOR_BGR2GRAY); break;
    case 4: cv::cvtColor(f, gray, cv::COLOR_BGRA2GRAY); break;
    default:
      throw ImageError(what + ": unsupported number of channels " + std::to_string(f.channels()) +
                       " (expected 1, 3 or 4)");
  }
  if (decoded.depth() == CV_32F || decoded.depth() == CV_64F) {
    if (cv::checkRange(gray, true) == false)
      throw ImageError(what + ": float image contains NaN or infinite values");
    cv::min(cv::max(gray, 0.0), 1.0, gray);
  }
  if (!gray.isContinuous()) gray = gray.clone();
  return gray;
}

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> exts = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom"};
  return exts;
}

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto& exts = image_extensions();
  return std::find(exts.begin(), exts.end(), ext) != exts.end();
}

int64_t max_image_pixels() {
  static const int64_t limit = pixels_from_env();
  return limit;
}

cv::Mat decode_image_file(const fs::path& path, const std::string& what) {
  const std::vector<uint8_t> bytes = read_bytes(path, what);

  // Before the other signatures: a DICOM preamble may itself hold a TIFF header.
  if (image_detail::has_dicom_signature(bytes.data(), bytes.size()))
    throw ImageError(what + ": a DICOM file, which is read only as an X-ray image (load_gray); "
                            "masks and atlases must be PNG, JPEG, BMP or TIFF");
  const auto info = check_container(bytes);
  if (info.format == Format::Unknown) {
    if (image_detail::has_dicom_extension(path))
      throw ImageError(what + ": a DICOM file by its name, which is read only as an X-ray image "
                              "(load_gray); masks and atlases must be PNG, JPEG, BMP or TIFF");
    throw ImageError(what + ": not an image (expected PNG, JPEG, BMP or TIFF, or for X-ray images DICOM; "
                            "the file starts with none of their signatures)");
  }
  // Size first: a forged header claiming a huge image is best reported as that.
  check_image_size(info.width, info.height, what);
  if (!info.problem.empty()) throw ImageError(what + ": " + info.problem);

  cv::Mat decoded;
  try {
    // IMREAD_UNCHANGED keeps 16-bit depth and every channel (it already implies ANYDEPTH).
    decoded = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw ImageError(what + ": corrupt " + format_name(info.format) + " (" + e.err + ")");
  }
  if (decoded.empty())
    throw ImageError(what + ": corrupt " + std::string(format_name(info.format)) +
                     " (the decoder could not read it)");
  // Again after decoding: TIFF directories and decoders may disagree with the header parsed.
  check_image_size(decoded.cols, decoded.rows, what);
  return decoded;
}

cv::Mat load_gray(const fs::path& path) {
  const std::string name = path.string();
  // Checked here too, before reads_as_dicom opens the file: a FIFO must not block the run.
  check_image_file(path, name);
  cv::Mat gray = image_detail::reads_as_dicom(path) ? image_detail::read_dicom_gray(path, name)
                                                    : to_gray_float(decode_image_file(path, name), name);
  if (gray.cols < kMinImageSide || gray.rows < kMinImageSide)
    throw ImageError(name + ": image of " + std::to_string(gray.cols) + "x" + std::to_string(gray.rows) +
                     " pixels is too small (at least " + std::to_string(kMinImageSide) +
                     " pixels per side: the members would classify a blown-up handful of pixels)");
  return gray;
}

}  // namespace gradgate
