#pragma once
// A small U-Net for lung segmentation (Ronneberger et al. 2015, with batch norm and
// transposed-conv upsampling). One input channel (gray), one output channel (lung logit).
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>

#include <opencv2/core.hpp>

namespace gradgate {

struct UNetOptions {
  UNetOptions() = default;
  UNetOptions(int64_t base_width, int64_t depth, int64_t input_side)
      : base_width_(base_width), depth_(depth), input_side_(input_side) {}
  // Channels of the first level; level i has base_width * 2^i.
  TORCH_ARG(int64_t, base_width) = 8;
  // Number of 2x downsamplings (levels below the first).
  TORCH_ARG(int64_t, depth) = 4;
  // Side of the square input the net is trained and run at; a multiple of 2^depth.
  TORCH_ARG(int64_t, input_side) = 128;
};

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const UNetOptions& options = {});
  // x: [N,1,S,S] standardised gray -> [N,1,S,S] logits. S must be a multiple of 2^depth.
  torch::Tensor forward(torch::Tensor x);
  const UNetOptions& options() const { return options_; }

 private:
  UNetOptions options_;
  torch::nn::ModuleList down_{nullptr};   // conv blocks, level 0..depth (the last is the bottleneck)
  torch::nn::ModuleList up_{nullptr};     // transposed convs, depth-1..0
  torch::nn::ModuleList merge_{nullptr};  // conv blocks after concatenation, depth-1..0
  torch::nn::Conv2d head_{nullptr};
};
TORCH_MODULE(UNet);

// Writes the weights and the options into one file (torch::serialize archive).
void save_unet(UNet net, const std::filesystem::path& path);
// Reads a file written by save_unet(); throws ModelError naming the file. Returned in eval mode.
UNet load_unet(const std::filesystem::path& path);

// Pre-processing shared by training and inference: resize to side x side with
// resize_to_side (preprocess.h, the classifiers' rule) and standardise (zero mean, unit
// variance per image). `gray`: CV_32FC1 in [0,1].
cv::Mat unet_input(const cv::Mat& gray, int side);

}  // namespace gradgate
