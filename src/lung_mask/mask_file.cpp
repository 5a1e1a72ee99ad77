// Mask files: the naming rule and reading any 8/16-bit mask as 0/255.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/common/regular_file.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/lung_mask.h"

namespace gradgate {

namespace fs = std::filesystem;

std::optional<fs::path> find_mask_beside(const fs::path& image) {
  const fs::path dir = image.parent_path();
  const std::string stem = image.stem().string();
  std::vector<fs::path> candidates = {
      dir / (stem + "_mask.png"),
      dir / (stem + ".mask.png"),
      dir.parent_path() / "masks" / (stem + ".png"),
  };
  // images/<sub>/x.ext -> masks/<sub>/x.png, for the nearest `images` component.
  std::vector<fs::path> parts(image.begin(), image.end());
  for (size_t i = parts.size() - 1; i-- > 0;) {  // skip the file name itself
    if (parts[i] != "images") continue;
    fs::path mirrored;
    for (size_t j = 0; j < parts.size(); ++j) mirrored /= (j == i ? fs::path("masks") : parts[j]);
    mirrored.replace_extension(".png");
    candidates.push_back(mirrored);
    break;
  }
  std::error_code ec;
  for (const auto& c : candidates)
    if (c != image && fs::is_regular_file(c, ec)) return c;
  return std::nullopt;
}

cv::Mat read_mask_file(const fs::path& path, std::optional<cv::Size> image_size,
                       std::vector<std::string>* warnings) {
  // The images' reader and limits: regular files only, pixel count checked before decoding.
  if (regular_file_problem(path) == "not found") throw ImageError("lung mask file not found: " + path.string());
  cv::Mat raw = decode_image_file(path, "lung mask file " + path.string());
  if (raw.depth() != CV_8U && raw.depth() != CV_16U && raw.depth() != CV_32F)
    throw ImageError("lung mask file " + path.string() + ": unsupported pixel depth (expected 8 or 16 bit)");
  // Any channel > 0 marks lung; an alpha channel is ignored.
  std::vector<cv::Mat> channels;
  cv::split(raw, channels);
  if (channels.size() == 4 || channels.size() == 2) channels.pop_back();
  // A mask is black and white; grey levels (a gradient, a photo, an anti-aliased drawing past
  // its edges) are read as lung wherever > 0, which the caller should know.
  // Binary means two values, 0 and one other (a label of 1 in a 16-bit file is binary too).
  if (warnings && !channels.empty()) {
    double top = 0;
    cv::minMaxLoc(channels[0], nullptr, &top);
    const double grey = cv::countNonZero((channels[0] > 0) & (channels[0] < top)) / static_cast<double>(channels[0].total());
    if (grey > 0.05)
      warnings->push_back("lung mask " + path.filename().string() + " is not binary (" +
                          std::to_string(static_cast<int>(grey * 100 + 0.5)) +
                          "% of its pixels are grey); read as lung wherever > 0");
  }
  cv::Mat mask = cv::Mat::zeros(raw.size(), CV_8UC1);
  for (const auto& c : channels) mask |= (c > 0);
  if (image_size && mask.size() != *image_size) {
    if (warnings)
      warnings->push_back("lung mask " + path.filename().string() + " resized (nearest) from " +
                          std::to_string(mask.cols) + "x" + std::to_string(mask.rows) + " to " +
                          std::to_string(image_size->width) + "x" +
                          std::to_string(image_size->height) + " to match the image");
    cv::resize(mask, mask, *image_size, 0, 0, cv::INTER_NEAREST);
  }
  return mask;
}

}  // namespace gradgate
