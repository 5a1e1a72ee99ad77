#pragma once
// Grad-CAM (and Grad-CAM++ / HiResCAM) for one member over a batch.
//
// The trunk, features(x), runs under torch::NoGradGuard; its output A is detached and made a
// leaf that requires grad, so only head(A) builds a graph. One backward per batch: the sum
// over the batch of each image's selected class score, differentiated w.r.t. A. Because the
// head treats images independently (eval mode), d(sum)/dA[n] = d(score_n)/dA[n].
// The same head pass gives the logits and softmax probabilities, so an ensemble needs no
// second forward. CamMethod::Saliency is the exception: the whole member is differentiated
// w.r.t. its input (about 3x a forward pass) and the map is at the input's resolution.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/cam_method.h"
#include "gradgate/zoo/member.h"

namespace gradgate {

struct CamOptions {
  CamMethod method = CamMethod::GradCam;
  // Study: features() without a graph, head() differentiated. Fine: fine_features() without
  // a graph, fine_tail() + head() differentiated (the map at the stride-16 split).
  CamLayer layer = CamLayer::Study;
};

// Per-image class to explain: the predicted class (argmax of the logits) or a named index.
inline constexpr int64_t kPredictedClass = -1;

struct CamBatch {
  torch::Tensor logits;  // [N,K] float, detached
  torch::Tensor probs;   // [N,K] softmax of logits, detached
  torch::Tensor targets; // [N] int64: the class each map explains
  torch::Tensor low_res; // [N,h,w] float >= 0: the map at the feature layer's resolution
                         // (saliency: [N,H,W], the input's)
  std::vector<bool> empty;  // per image: map is all zero (no positive evidence / zero grads)
  // [N,C] float: the study layer's activations (features(x)) averaged over the grid, taken
  // from the pass above at no extra forward (the fine layer's tail computes them): what the
  // domain check (domain.h) scores.
  torch::Tensor pooled;
};

// probs as one std::vector<double> per image (the vote's input type).
std::vector<std::vector<double>> probabilities(const CamBatch& batch);

// Computes the maps at the feature layer's resolution. `x` is the preprocessed batch
// [N,3,H,W] (float, CPU). `targets` is empty (predicted class for every image) or has N
// entries, each kPredictedClass or a class index in [0,K). Puts the member in eval mode for
// the call and restores its previous mode. Non-finite values in a map are zeroed and the
// map flagged empty. Thread-safe for distinct members.
CamBatch compute_cam(MemberImpl& member, const torch::Tensor& x,
                     const std::vector<int64_t>& targets = {}, const CamOptions& options = {});

// The combination step on its own (A and dY/dA of shape [N,C,h,w]) -> [N,h,w] >= 0.
// Exposed so a reference implementation (e.g. through the full graph) uses the same formula.
torch::Tensor cam_from_gradients(const torch::Tensor& activations, const torch::Tensor& grads,
                                 CamMethod method);

// Bilinear upsampling of one low-res map [h,w] to `size` (the image's original size),
// CV_32FC1, clamped at 0 (bilinear interpolation of a non-negative map is non-negative up to
// rounding). Not normalised: the gate's in-lung share is scale free.
cv::Mat upsample_map(const torch::Tensor& low_res_map, const cv::Size& size);

// A map scaled to [0,1] for display; an all-zero map stays all zero (never divides by zero).
cv::Mat normalized_for_display(const cv::Mat& map);

struct CamResult {
  CamBatch batch;
  std::vector<cv::Mat> maps;  // per image, CV_32FC1 at that image's own size
};

// compute_cam + upsample_map per image. `sizes` has N entries (images in a batch may have
// different original sizes); an empty vector means the network input size H x W.
CamResult grad_cam(MemberImpl& member, const torch::Tensor& x,
                   const std::vector<cv::Size>& sizes = {},
                   const std::vector<int64_t>& targets = {}, const CamOptions& options = {});

}  // namespace gradgate
