#pragma once
// The lung atlas: the mean training lung mask in the frame of the body's bounding box.
// Placing it on an image = find the body's box on the image, warp the atlas into it,
// threshold at 0.5. A weak prior, used only when there is no mask file and no segmenter.
// No torch here.
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace gradgate {

// Bounding box of the body on a gray image (CV_32FC1 in [0,1]): Otsu threshold on a
// smoothed copy, closing, largest component. Falls back to the whole image (and says so in
// `warnings`) when that component covers less than a quarter of the image.
cv::Rect body_box(const cv::Mat& gray, std::vector<std::string>* warnings = nullptr);

class LungAtlas {
 public:
  // `probability`: CV_32FC1 in [0,1], the mean mask in body-box coordinates.
  explicit LungAtlas(cv::Mat probability);
  // Reads an 8- or 16-bit gray PNG (value / max = probability). Throws ImageError.
  static LungAtlas load(const std::filesystem::path& path);
  // Writes an 8-bit gray PNG. Throws ImageError.
  void save(const std::filesystem::path& path) const;

  // The atlas warped into body_box(gray), thresholded at 0.5, post-processed: CV_8UC1 0/255.
  cv::Mat place(const cv::Mat& gray, std::vector<std::string>* warnings = nullptr) const;
  // The atlas warped into `box` of an image of `size`.
  cv::Mat place_in_box(cv::Size size, const cv::Rect& box) const;

  const cv::Mat& probability() const { return probability_; }

 private:
  cv::Mat probability_;
};

// Accumulates masks in body-box coordinates into an atlas of side x side.
// Sources can be weighted so the large paediatric set does not swamp the adult one.
class LungAtlasBuilder {
 public:
  explicit LungAtlasBuilder(int side = 128);
  // `gray` the image (CV_32FC1), `mask` its 0/255 mask at the same size.
  void add(const cv::Mat& gray, const cv::Mat& mask, double weight = 1.0);
  LungAtlas build() const;
  double total_weight() const { return weight_; }

 private:
  int side_;
  cv::Mat sum_;  // CV_64FC1
  double weight_ = 0.0;
};

}  // namespace gradgate
