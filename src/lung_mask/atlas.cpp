// The lung atlas: body box, placement, building from training masks.
#include "gradgate/lung_atlas.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/common/png.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/lung_mask.h"

namespace gradgate {

cv::Rect body_box(const cv::Mat& gray, std::vector<std::string>* warnings) {
  if (gray.empty()) throw ImageError("body_box: empty image");
  const cv::Rect whole(0, 0, gray.cols, gray.rows);
  // Work on a copy at most 256 px wide: Otsu and components need no more, big films stay cheap.
  const double scale = std::min(1.0, 256.0 / std::max(gray.cols, gray.rows));
  cv::Mat small, u8;
  cv::resize(gray, small, cv::Size(), scale, scale, cv::INTER_AREA);
  if (small.empty()) return whole;
  // Stretch to the image's own range: 12-bit films stored in 16 bit load as [0, 0.06].
  cv::normalize(small, u8, 0, 255, cv::NORM_MINMAX, CV_8U);
  cv::GaussianBlur(u8, u8, cv::Size(5, 5), 0);
  cv::Mat body;
  cv::threshold(u8, body, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  // The dark lungs fall below Otsu's threshold, but the bright chest wall, mediastinum and
  // shoulders around them still span the body; closing joins them into one component.
  cv::morphologyEx(body, body, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_ELLIPSE, {9, 9}));
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(body, labels, stats, centroids, 8, CV_32S);
  int best = -1, best_area = 0;
  for (int i = 1; i < n; ++i)
    if (stats.at<int>(i, cv::CC_STAT_AREA) > best_area) best = i, best_area = stats.at<int>(i, cv::CC_STAT_AREA);
  if (best < 0) {
    if (warnings) warnings->push_back("body not found (uniform image): atlas placed on the whole image");
    return whole;
  }
  cv::Rect box(stats.at<int>(best, cv::CC_STAT_LEFT), stats.at<int>(best, cv::CC_STAT_TOP),
               stats.at<int>(best, cv::CC_STAT_WIDTH), stats.at<int>(best, cv::CC_STAT_HEIGHT));
  box = cv::Rect(cv::Point(static_cast<int>(std::floor(box.x / scale)), static_cast<int>(std::floor(box.y / scale))),
                 cv::Point(static_cast<int>(std::ceil(box.br().x / scale)), static_cast<int>(std::ceil(box.br().y / scale)))) &
        whole;
  if (box.area() < whole.area() / 4) {
    if (warnings) warnings->push_back("body box too small (" + std::to_string(box.width) + "x" +
                                      std::to_string(box.height) + "): atlas placed on the whole image");
    return whole;
  }
  return box;
}

LungAtlas::LungAtlas(cv::Mat probability) : probability_(std::move(probability)) {
  if (probability_.empty() || probability_.type() != CV_32FC1)
    throw ImageError("lung atlas must be a non-empty CV_32FC1 probability map");
}

LungAtlas LungAtlas::load(const std::filesystem::path& path) {
  // The images' reader: regular files only, the pixel limit checked before decoding.
  cv::Mat raw = decode_image_file(path, "lung atlas " + path.string());
  if (raw.channels() != 1) cv::extractChannel(raw, raw, 0);
  cv::Mat p;
  raw.convertTo(p, CV_32F, raw.depth() == CV_16U ? 1.0 / 65535.0 : 1.0 / 255.0);
  return LungAtlas(p);
}

void LungAtlas::save(const std::filesystem::path& path) const {
  cv::Mat u8;
  probability_.convertTo(u8, CV_8U, 255.0);
  write_png_file(path, u8);  // temp file and rename: a failed write leaves the old atlas
}

cv::Mat LungAtlas::place_in_box(cv::Size size, const cv::Rect& box) const {
  cv::Mat mask = cv::Mat::zeros(size, CV_8UC1);
  const cv::Rect b = box & cv::Rect(0, 0, size.width, size.height);
  if (b.empty()) return mask;
  cv::Mat warped, binary;
  cv::resize(probability_, warped, b.size(), 0, 0, cv::INTER_LINEAR);
  cv::threshold(warped, binary, 0.5, 255.0, cv::THRESH_BINARY);
  binary.convertTo(mask(b), CV_8U);
  return keep_two_largest_and_fill(mask);
}

cv::Mat LungAtlas::place(const cv::Mat& gray, std::vector<std::string>* warnings) const {
  return place_in_box(gray.size(), body_box(gray, warnings));
}

LungAtlasBuilder::LungAtlasBuilder(int side) : side_(side), sum_(cv::Mat::zeros(side, side, CV_64FC1)) {}

void LungAtlasBuilder::add(const cv::Mat& gray, const cv::Mat& mask, double weight) {
  if (gray.size() != mask.size()) throw ImageError("LungAtlasBuilder: image and mask differ in size");
  const cv::Rect box = body_box(gray);
  cv::Mat m, small;
  mask(box).convertTo(m, CV_64F, 1.0 / 255.0);
  cv::resize(m, small, cv::Size(side_, side_), 0, 0, cv::INTER_AREA);
  sum_ += small * weight;
  weight_ += weight;
}

LungAtlas LungAtlasBuilder::build() const {
  if (weight_ <= 0) throw ImageError("lung atlas: no masks were added");
  cv::Mat p;
  cv::Mat(sum_ / weight_).convertTo(p, CV_32F);
  return LungAtlas(p);
}

}  // namespace gradgate
