#include "gradgate/gradcam.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

#include <opencv2/imgproc.hpp>

#include "gradgate/bilinear.h"
#include "gradgate/error.h"

namespace gradgate {

namespace {

// Puts a member in eval mode for a scope and restores its mode afterwards, also on throw.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(MemberImpl& m) : m_(m), was_training_(m.is_training()) { m_.eval(); }
  ~EvalModeGuard() {
    if (was_training_) m_.train();
  }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  MemberImpl& m_;
  bool was_training_;
};

// The class each image's map explains: the predicted one, or the caller's where it names one.
torch::Tensor chosen_classes(const torch::Tensor& logits, const std::vector<int64_t>& targets) {
  const int64_t k = logits.size(1);
  auto chosen = logits.detach().argmax(1);
  for (int64_t i = 0; i < static_cast<int64_t>(targets.size()); ++i) {
    const int64_t t = targets[i];
    if (t == kPredictedClass) continue;
    if (t < 0 || t >= k)
      throw std::invalid_argument("compute_cam: target class " + std::to_string(t) +
                                  " for image " + std::to_string(i) + " is outside [0," +
                                  std::to_string(k) + ")");
    chosen[i].fill_(t);
  }
  return chosen;
}

void check_logits(const torch::Tensor& logits, int64_t n) {
  if (logits.dim() != 2 || logits.size(0) != n)
    throw ModelError("compute_cam: head() returned logits of shape " + c10::str(logits.sizes()) +
                     ", expected [" + std::to_string(n) + ",K]");
}

// Never let NaN/Inf (e.g. from a diverged member) reach the gate: zero it and flag empty.
void set_map(CamBatch& out, torch::Tensor cam) {
  torch::NoGradGuard no_grad;
  cam = torch::where(torch::isfinite(cam), cam, torch::zeros_like(cam)).contiguous();
  const auto positive = std::get<0>(cam.flatten(1).max(1)).gt(0).contiguous();  // [N] bool
  const auto acc = positive.accessor<bool, 1>();
  out.empty.resize(static_cast<size_t>(cam.size(0)));
  for (int64_t i = 0; i < cam.size(0); ++i) out.empty[static_cast<size_t>(i)] = !acc[i];
  out.low_res = cam;
}

// CamMethod::Saliency: the whole member under a graph, differentiated w.r.t. its input. The
// map is the squared gradient summed over the three (replicated gray) channels, [N,H,W].
CamBatch input_saliency(MemberImpl& member, const torch::Tensor& x,
                        const std::vector<int64_t>& targets) {
  CamBatch out;
  torch::AutoGradMode enable_grad(true);
  const auto xi = x.detach().clone().requires_grad_(true);
  const auto study = member.features(xi);
  out.pooled = study.detach().mean({2, 3}).to(torch::kFloat32).contiguous();  // before head()
  const auto logits = member.head(study);
  check_logits(logits, x.size(0));
  const auto chosen = chosen_classes(logits, targets);
  const auto score = logits.gather(1, chosen.unsqueeze(1)).sum();
  auto g = torch::autograd::grad({score}, {xi}, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                 /*create_graph=*/false, /*allow_unused=*/true);
  const auto grads = g[0].defined() ? g[0].detach() : torch::zeros_like(x);
  out.logits = logits.detach();
  out.targets = chosen;
  out.probs = torch::softmax(out.logits, 1);
  set_map(out, grads.pow(2).sum(1).to(torch::kFloat32));
  return out;
}

}  // namespace

torch::Tensor cam_from_gradients(const torch::Tensor& a, const torch::Tensor& g, CamMethod method) {
  TORCH_CHECK(a.dim() == 4 && a.sizes() == g.sizes(),
              "cam_from_gradients: activations and gradients must both be [N,C,h,w]");
  switch (method) {
    case CamMethod::GradCam: {
      const auto w = g.mean({2, 3}, /*keepdim=*/true);
      return (w * a).sum(1).relu();
    }
    case CamMethod::HiResCam:
      return (g * a).sum(1).relu();
    case CamMethod::GradCamPlusPlus: {
      // Closed form for an exponential score (Chattopadhyay et al., eq. 19), written as in
      // pytorch-grad-cam (same eps, alpha = 0 where the gradient is 0) so maps are comparable.
      const auto g2 = g * g;
      const auto g3 = g2 * g;
      const auto sum_a = a.sum({2, 3}, /*keepdim=*/true);
      auto alpha = g2 / (2 * g2 + sum_a * g3 + 1e-6);
      alpha = torch::where(g != 0, alpha, torch::zeros_like(alpha));
      const auto w = (g.relu() * alpha).sum({2, 3}, /*keepdim=*/true);
      return (w * a).sum(1).relu();
    }
    case CamMethod::Saliency:
      throw std::invalid_argument(
          "cam_from_gradients: saliency is the input's gradient, not a feature layer's (compute_cam)");
  }
  throw std::invalid_argument("cam_from_gradients: unknown method");
}

CamBatch compute_cam(MemberImpl& member, const torch::Tensor& x, const std::vector<int64_t>& targets,
                     const CamOptions& options) {
  if (x.dim() != 4)
    throw std::invalid_argument("compute_cam: input must be [N,3,H,W], got " +
                                std::to_string(x.dim()) + " dimensions");
  const int64_t n = x.size(0);
  if (n == 0) throw std::invalid_argument("compute_cam: empty batch");
  if (!targets.empty() && static_cast<int64_t>(targets.size()) != n)
    throw std::invalid_argument("compute_cam: " + std::to_string(targets.size()) +
                                " target classes for a batch of " + std::to_string(n));
  EvalModeGuard eval_mode(member);
  if (options.method == CamMethod::Saliency) return input_saliency(member, x, targets);

  const bool fine = options.layer == CamLayer::Fine;
  torch::Tensor a;
  {
    // The trunk builds no graph: at the study layer Grad-CAM then costs about one forward
    // pass; at the fine layer the last stage is differentiated too.
    torch::NoGradGuard no_grad;
    a = fine ? member.fine_features(x) : member.features(x);
  }
  if (a.dim() != 4)
    throw ModelError("compute_cam: the member's layer " +
                     (fine ? member.fine_layer() : member.feature_layer()) + " returned " +
                     std::to_string(a.dim()) + " dimensions, expected [N,C,h,w]");
  a = a.detach().requires_grad_(true);

  CamBatch out;
  torch::Tensor grads;
  {
    torch::AutoGradMode enable_grad(true);  // also when the caller is under NoGradGuard
    // The tail may start with an in-place activation: it gets a copy, `a` stays the map's A.
    // The study layer's output is pooled before head() sees it (head may work in place).
    const torch::Tensor study = fine ? member.fine_tail(a.clone()) : a;
    out.pooled = study.detach().mean({2, 3}).to(torch::kFloat32).contiguous();
    const auto logits = member.head(study);
    check_logits(logits, n);
    const auto chosen = chosen_classes(logits, targets);
    // One backward per batch. autograd::grad (not backward()) leaves parameter .grad alone.
    const auto score = logits.gather(1, chosen.unsqueeze(1)).sum();
    auto g = torch::autograd::grad({score}, {a}, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                   /*create_graph=*/false, /*allow_unused=*/true);
    grads = g[0].defined() ? g[0] : torch::zeros_like(a);
    out.logits = logits.detach();
    out.targets = chosen;
  }
  out.probs = torch::softmax(out.logits, 1);

  torch::NoGradGuard no_grad;
  set_map(out, cam_from_gradients(a.detach(), grads, options.method));
  return out;
}

std::vector<std::vector<double>> probabilities(const CamBatch& batch) {
  const auto p = batch.probs.to(torch::kFloat64).contiguous();
  std::vector<std::vector<double>> out(p.size(0));
  for (int64_t i = 0; i < p.size(0); ++i) {
    const double* row = p[i].data_ptr<double>();
    out[i].assign(row, row + p.size(1));
  }
  return out;
}

cv::Mat upsample_map(const torch::Tensor& low_res_map, const cv::Size& size) {
  if (low_res_map.dim() != 2)
    throw std::invalid_argument("upsample_map: expected a [h,w] map");
  if (size.width <= 0 || size.height <= 0)
    throw std::invalid_argument("upsample_map: target size must be positive");
  const auto m = low_res_map.detach().to(torch::kFloat32).contiguous();
  const cv::Mat small(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_32FC1,
                      const_cast<float*>(m.data_ptr<float>()));
  // The gate's projected masks use the same weights (gradgate/bilinear.h): pixel centres,
  // as cv::resize INTER_LINEAR and torch's align_corners=false.
  cv::Mat big = bilinear_resize(small, size);
  cv::max(big, 0.0, big);
  return big;
}

cv::Mat normalized_for_display(const cv::Mat& map) {
  double lo = 0, hi = 0;
  cv::minMaxLoc(map, &lo, &hi);
  cv::Mat out;
  if (hi > 0)
    map.convertTo(out, CV_32F, 1.0 / hi);
  else
    out = cv::Mat::zeros(map.size(), CV_32FC1);
  return out;
}

CamResult grad_cam(MemberImpl& member, const torch::Tensor& x, const std::vector<cv::Size>& sizes,
                   const std::vector<int64_t>& targets, const CamOptions& options) {
  CamResult r;
  r.batch = compute_cam(member, x, targets, options);
  const int64_t n = x.size(0);
  if (!sizes.empty() && static_cast<int64_t>(sizes.size()) != n)
    throw std::invalid_argument("grad_cam: " + std::to_string(sizes.size()) +
                                " image sizes for a batch of " + std::to_string(n));
  const cv::Size input_size(static_cast<int>(x.size(3)), static_cast<int>(x.size(2)));
  r.maps.reserve(n);
  for (int64_t i = 0; i < n; ++i)
    r.maps.push_back(upsample_map(r.batch.low_res[i], sizes.empty() ? input_size : sizes[i]));
  return r;
}

}  // namespace gradgate
