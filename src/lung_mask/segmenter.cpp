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

namespace {

// Lung probability at the net's side x side: CV_32FC1 in [0,1], owning its data.
cv::Mat net_probability(UNetImpl& net, const cv::Mat& gray, int side) {
  if (gray.empty() || gray.type() != CV_32FC1)
    throw ImageError("lung segmenter expects a non-empty CV_32FC1 gray image");
  cv::Mat input = unet_input(gray, side);
  torch::Tensor x = torch::from_blob(input.ptr<float>(), {1, 1, side, side}, torch::kFloat32);
  torch::Tensor p;
  {
    // Eval mode and no graph: forward is read-only on the net, so concurrent calls are safe.
    torch::NoGradGuard no_grad;
    p = torch::sigmoid(net.forward(x)).contiguous();
  }
  return cv::Mat(side, side, CV_32FC1, p.data_ptr<float>()).clone();
}

}  // namespace

cv::Mat LungSegmenter::probability(const cv::Mat& gray) const {
  cv::Mat full;
  cv::resize(net_probability(*net_, gray, input_side()), full, gray.size(), 0, 0, cv::INTER_LINEAR);
  return full;
}

cv::Mat LungSegmenter::segment(const cv::Mat& gray) const {
  // The clean-up (threshold, two largest components, holes filled) runs at the net's side,
  // not on the multi-megapixel radiograph: it was most of the segmenter's time there. The
  // cleaned region then reaches the image's size with smooth edges: inside it the
  // probability (holes as certain), outside 0, upsampled bilinearly and thresholded again.
  const cv::Mat p = net_probability(*net_, gray, input_side());
  cv::Mat binary;
  cv::threshold(p, binary, threshold_, 255.0, cv::THRESH_BINARY);
  binary.convertTo(binary, CV_8U);
  const cv::Mat kept = keep_two_largest_and_fill(binary);
  cv::Mat q = cv::Mat::zeros(p.size(), CV_32FC1);
  p.copyTo(q, kept);
  q.setTo(1.0, kept & (binary == 0));
  cv::Mat full, mask;
  cv::resize(q, full, gray.size(), 0, 0, cv::INTER_LINEAR);
  cv::threshold(full, mask, threshold_, 255.0, cv::THRESH_BINARY);
  mask.convertTo(mask, CV_8U);
  return mask;
}

}  // namespace gradgate
