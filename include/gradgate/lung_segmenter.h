#pragma once
// The learned lung segmenter: a small U-Net (lung_unet.h) with its pre- and post-processing.
// gray image -> resize to the net's side -> per-image standardisation -> U-Net -> sigmoid
// -> threshold -> two largest components -> fill holes (at the net's side) -> the cleaned
// probability resized (linear) to the image -> threshold.
// No torch here (the net is behind a pointer).
#include <filesystem>
#include <memory>

#include <opencv2/core.hpp>

namespace gradgate {

class UNetImpl;

class LungSegmenter {
 public:
  // Loads weights written by save_unet() (lung_unet.h). Throws ModelError naming the file.
  explicit LungSegmenter(const std::filesystem::path& weights, double threshold = 0.5);
  explicit LungSegmenter(std::shared_ptr<UNetImpl> net, double threshold = 0.5);
  ~LungSegmenter();

  // Lung probability at the image's size: CV_32FC1 in [0,1]. `gray`: CV_32FC1 in [0,1].
  cv::Mat probability(const cv::Mat& gray) const;
  // Final mask at the image's size: CV_8UC1 0/255.
  cv::Mat segment(const cv::Mat& gray) const;

  int input_side() const;

 private:
  std::shared_ptr<UNetImpl> net_;
  double threshold_;
};

}  // namespace gradgate
