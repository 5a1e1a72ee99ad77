// LungSegmenter: U-Net inference with pre- and post-processing.
#include "gradgate/lung_segmenter.h"

#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/lung_mask.h"
#include "gradgate/lung_unet.h"

namespace gradgate {

LungSegmenter::LungSegmenter(const std::filesystem::path& weights, double threshold)
    : net_(load_unet(weights).ptr()), threshold_(threshold) {}

LungSegmenter::LungSegmenter(std::shared_ptr<UNetImpl> net, double threshold)
    : net_(std::move(net)), threshold_(threshold) {
  if (!net_) throw ModelError("LungSegmenter: no network given");
  net_->eval();
}

LungSegmenter::~LungSegmenter() = default;

int LungSegmenter::input_side() const { return static_cast<int>(net_->options().input_side()); }

cv::Mat LungSegmenter::probability(const cv::Mat& gray) const {
  if (gray.empty() || gray.type() != CV_32FC1)
    throw ImageError("lung segmenter expects a non-empty CV_32FC1 gray image");
  const int side = input_side();
  cv::Mat input = unet_input(gray, side);
  torch::Tensor x = torch::from_blob(input.ptr<float>(), {1, 1, side, side}, torch::kFloat32);
  torch::Tensor p;
  {
    // Eval mode and no graph: forward is read-only on the net, so concurrent calls are safe.
    torch::NoGradGuard no_grad;
    p = torch::sigmoid(net_->forward(x)).contiguous();
  }
  cv::Mat small(side, side, CV_32FC1, p.data_ptr<float>());
  cv::Mat full;
  cv::resize(small, full, gray.size(), 0, 0, cv::INTER_LINEAR);
  return full;
}

cv::Mat LungSegmenter::segment(const cv::Mat& gray) const {
  cv::Mat binary;
  cv::threshold(probability(gray), binary, threshold_, 255.0, cv::THRESH_BINARY);
  binary.convertTo(binary, CV_8U);
  return keep_two_largest_and_fill(binary);
}

}  // namespace gradgate
