// The lung U-Net and its file format.
#include "gradgate/lung_unet.h"

#include <opencv2/imgproc.hpp>

#include "gradgate/common/atomic_file.h"
#include "gradgate/error.h"
#include "gradgate/preprocess.h"
#include "gradgate/zoo/weights.h"

namespace gradgate {
namespace {

// conv3x3-BN-ReLU twice: the U-Net's unit.
torch::nn::Sequential conv_block(int64_t in, int64_t out) {
  namespace nn = torch::nn;
  return nn::Sequential(
      nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)), nn::BatchNorm2d(out),
      nn::ReLU(nn::ReLUOptions(true)),
      nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)), nn::BatchNorm2d(out),
      nn::ReLU(nn::ReLUOptions(true)));
}

}  // namespace

UNetImpl::UNetImpl(const UNetOptions& options) : options_(options) {
  const int64_t depth = options.depth();
  const int64_t base = options.base_width();
  if (depth < 1 || depth > 6 || base < 1)
    throw ModelError("UNet: depth must be in 1..6 and base_width >= 1 (got depth " +
                     std::to_string(depth) + ", base_width " + std::to_string(base) + ")");
  if (options.input_side() % (int64_t{1} << depth) != 0)
    throw ModelError("UNet: input_side " + std::to_string(options.input_side()) +
                     " is not a multiple of 2^depth = " + std::to_string(int64_t{1} << depth));
  down_ = register_module("down", torch::nn::ModuleList());
  up_ = register_module("up", torch::nn::ModuleList());
  merge_ = register_module("merge", torch::nn::ModuleList());
  int64_t in = 1;
  for (int64_t level = 0; level <= depth; ++level) {
    const int64_t out = base << level;
    down_->push_back(conv_block(in, out));
    in = out;
  }
  for (int64_t level = depth - 1; level >= 0; --level) {
    const int64_t ch = base << level;
    up_->push_back(torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(ch * 2, ch, 2).stride(2)));
    merge_->push_back(conv_block(ch * 2, ch));
  }
  head_ = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(base, 1, 1)));
}

torch::Tensor UNetImpl::forward(torch::Tensor x) {
  const int64_t depth = options_.depth();
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 1, "UNet expects [N,1,H,W], got ", x.sizes());
  TORCH_CHECK(x.size(2) % (int64_t{1} << depth) == 0 && x.size(3) % (int64_t{1} << depth) == 0,
              "UNet input sides must be multiples of ", int64_t{1} << depth, ", got ", x.sizes());
  std::vector<torch::Tensor> skips;
  for (int64_t level = 0; level <= depth; ++level) {
    if (level > 0) x = torch::max_pool2d(x, 2);
    x = down_[level]->as<torch::nn::Sequential>()->forward(x);
    if (level < depth) skips.push_back(x);
  }
  for (int64_t i = 0; i < depth; ++i) {
    x = up_[i]->as<torch::nn::ConvTranspose2d>()->forward(x);
    x = torch::cat({skips[depth - 1 - i], x}, 1);
    x = merge_[i]->as<torch::nn::Sequential>()->forward(x);
  }
  return head_->forward(x);
}

void save_unet(UNet net, const std::filesystem::path& path) {
  torch::serialize::OutputArchive archive;
  net->save(archive);
  const auto& o = net->options();
  archive.write("unet_options",
                torch::tensor({o.base_width(), o.depth(), o.input_side()}, torch::kLong));
  try {
    // Temp file then rename: a failed or killed write leaves the old weights.
    write_file_atomic_with(path, [&](const std::filesystem::path& tmp) { archive.save_to(tmp.string()); });
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError("cannot write U-Net weights " + path.string() + ": " + e.what());
  }
}

UNet load_unet(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw ModelError("lung U-Net weights not found: " + path.string());
  check_torch_archive(path.string(), "lung U-Net weights");
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    torch::Tensor opts;
    if (!archive.try_read("unet_options", opts) || opts.numel() != 3)
      throw ModelError("lung U-Net weights " + path.string() +
                       ": no 'unet_options' entry (not written by ensemble-masks train?)");
    auto o = opts.to(torch::kLong);
    UNet net(UNetOptions(o[0].item<int64_t>(), o[1].item<int64_t>(), o[2].item<int64_t>()));
    net->load(archive);
    net->eval();
    return net;
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError("cannot load lung U-Net weights " + path.string() + ": " + error_text(e));
  }
}

cv::Mat unet_input(const cv::Mat& gray, int side) {
  // The classifiers' interpolation rule (area when shrinking, bilinear when only enlarging);
  // the trainer resizes its images and masks with the same function.
  cv::Mat small = resize_to_side(gray, side).clone();
  cv::Scalar mean, stddev;
  cv::meanStdDev(small, mean, stddev);
  small = (small - mean[0]) / std::max(stddev[0], 1e-3);
  return small;
}

}  // namespace gradgate
