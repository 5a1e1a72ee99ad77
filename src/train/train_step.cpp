#include "gradgate/train_step.h"

#include "gradgate/error.h"

namespace gradgate {

namespace F = torch::nn::functional;

std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params,
                                                        const TrainOptions& opt) {
  if (opt.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(
        std::move(params), torch::optim::AdamWOptions(opt.lr).weight_decay(opt.weight_decay));
  if (opt.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(std::move(params),
                                               torch::optim::SGDOptions(opt.lr)
                                                   .momentum(opt.momentum)
                                                   .nesterov(true)
                                                   .weight_decay(opt.weight_decay));
  throw ConfigError("--optimizer '" + opt.optimizer + "': expected adamw or sgd");
}

torch::Tensor outside_lung_share(const torch::Tensor& a, const torch::Tensor& logits,
                                 const torch::Tensor& y, const torch::Tensor& masks,
                                 const torch::Tensor& has_mask) {
  TORCH_CHECK(a.dim() == 4 && masks.dim() == 4 && masks.size(1) == 1 && masks.size(0) == a.size(0),
              "outside_lung_share: expected a [N,C,h,w] and masks [N,1,H,W]");
  const auto logp = torch::log_softmax(logits, 1).gather(1, y.unsqueeze(1)).sum();
  const auto g = torch::autograd::grad({logp}, {a}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                       /*create_graph=*/true)[0];
  const auto cam = (g.mean({2, 3}, /*keepdim=*/true) * a).sum(1).abs();  // [N,h,w]
  const auto inside = F::adaptive_avg_pool2d(masks, F::AdaptiveAvgPool2dFuncOptions({a.size(2), a.size(3)}))
                          .squeeze(1);
  const auto mass = cam.sum({1, 2});
  // A map with no mass (nothing to explain) counts as inside: it cannot point at anything.
  const auto share = (cam * (1.0 - inside)).sum({1, 2}) / mass.clamp_min(1e-12);
  return torch::where(has_mask, share, torch::zeros_like(share));
}

StepLoss train_step(const Member& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                    const torch::Tensor& y, const torch::Tensor& class_weights,
                    const LungPenaltyInput* penalty, const DistributedStep* dist) {
  optimizer.zero_grad();
  StepLoss out;
  const bool penalise = penalty && penalty->weight > 0.0 && penalty->has_mask.defined() &&
                        (dist ? dist->global_masked > 0 : penalty->has_mask.any().item<bool>());
  // Split at the Grad-CAM layer only when the penalty needs the feature map.
  torch::Tensor a = penalise ? model->features(x) : torch::Tensor();
  auto logits = penalise ? model->head(a) : model->forward(x);
  torch::Tensor loss;
  if (dist) {
    // This rank's rows: their (weighted) sum over the global batch's weight.
    auto o = F::CrossEntropyFuncOptions().reduction(torch::kSum);
    if (class_weights.defined()) o = o.weight(class_weights);
    loss = F::cross_entropy(logits, y, o) / dist->global_weight;
  } else {
    loss = class_weights.defined()
               ? F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().weight(class_weights))
               : F::cross_entropy(logits, y);
  }
  out.cross_entropy = loss.item<double>();
  if (penalise) {
    const auto share = outside_lung_share(a, logits, y, penalty->masks, penalty->has_mask);
    out.masked = penalty->has_mask.sum().item<int64_t>();
    const int64_t over = dist ? dist->global_masked : out.masked;
    const auto mean_share = share.sum() / static_cast<double>(over);
    out.outside_share = mean_share.item<double>();
    loss = loss + penalty->weight * mean_share;
  }
  if (dist && dist->before_backward) dist->before_backward(out);
  loss.backward();
  if (dist && dist->after_backward) dist->after_backward();
  optimizer.step();
  out.total = loss.item<double>();
  return out;
}

double train_step(const Member& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                  const torch::Tensor& y, const torch::Tensor& class_weights) {
  return train_step(model, optimizer, x, y, class_weights, nullptr).total;
}

}  // namespace gradgate
