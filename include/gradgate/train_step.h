#pragma once
// One optimisation step of ensemble-train, and the optimiser it steps, as functions of their
// own: member training (src/train/member_trainer.cpp) runs them, and bench/train_speed.cpp
// times exactly them.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "gradgate/train.h"
#include "gradgate/zoo/member.h"

namespace gradgate {

// The optimiser ensemble-train builds over `params` from TrainOptions: `adamw` (lr,
// weight_decay; torch's default betas 0.9/0.999, eps 1e-8) or `sgd` (lr, momentum, nesterov,
// weight_decay). Throws ConfigError for another name.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params,
                                                        const TrainOptions& options);

// zero_grad, forward of `x` in the member's current mode, cross-entropy against `y` (int64
// labels; weighted per class when `class_weights` is defined, as --balance loss does),
// backward, optimiser step. Returns the batch's mean loss.
double train_step(const Member& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                  const torch::Tensor& y, const torch::Tensor& class_weights = {});

// The lung penalty ("right for the right reasons" on the Grad-CAM map rather than the input
// gradient): for each image with a lung mask, the share of its Grad-CAM evidence that lies
// outside the lungs, where the map explains log p(true class) at the member's Grad-CAM
// layer with signed evidence kept (|sum_k w_k A_k| with w_k the spatial mean of the
// gradient, Grad-CAM's weights): a member cannot hide a shortcut as negative evidence for
// the other class. Differentiable (create_graph through the head only: the trunk is
// differentiated once, with the loss). `a` [N,C,h,w] is features(x) with its graph,
// `logits` head(a), `masks` [N,1,H,W] in [0,1] in the input's frame (area-averaged to
// the h x w grid), `has_mask` [N] bool. Returns [N] shares (0 where there is no mask).
torch::Tensor outside_lung_share(const torch::Tensor& a, const torch::Tensor& logits,
                                 const torch::Tensor& y, const torch::Tensor& masks,
                                 const torch::Tensor& has_mask);

struct LungPenaltyInput {
  double weight = 0.0;    // loss = cross-entropy + weight * mean share over masked images
  torch::Tensor masks;    // [N,1,H,W] in [0,1]
  torch::Tensor has_mask; // [N] bool
};

struct StepLoss {
  double total = 0.0;
  double cross_entropy = 0.0;
  double outside_share = 0.0;  // mean over the batch's masked images (0 when none)
  int64_t masked = 0;          // images of the batch with a mask
};

// One rank's part of a data-parallel step (comm.h): the rank holds some rows of the global
// batch. Its loss is its rows' (weighted) cross-entropy sum divided by the global batch's
// weight, so the ranks' gradients, summed over the ranks (gradient_reducer.h: while backward
// runs, finished before the optimiser step), are the gradient of the global batch's mean
// loss, as one process would compute it.
struct DistributedStep {
  double global_weight = 0.0;  // the global batch's sum of class weights (its size when unweighted)
  int64_t global_masked = 0;   // images of the global batch with a lung mask (the penalty's mean)
  // Called with the step's loss parts (this rank's), e.g. to start GradientReducer::begin_step
  // with them, so their sum over the ranks travels with the gradients.
  std::function<void(const StepLoss& parts)> before_backward;
  std::function<void()> after_backward;   // leaves the ranks' summed gradients in grad()
};

// train_step with the lung penalty (penalty == nullptr or weight 0: the plain step), and as
// one rank of a data-parallel step when `dist` is given: then cross_entropy and
// outside_share are this rank's parts of the global batch's means (they sum over the ranks).
StepLoss train_step(const Member& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                    const torch::Tensor& y, const torch::Tensor& class_weights,
                    const LungPenaltyInput* penalty, const DistributedStep* dist = nullptr);

}  // namespace gradgate
