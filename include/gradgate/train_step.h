#pragma once
// One optimisation step of ensemble-train, and the optimiser it steps, as functions of their
// own: member training (src/train/member_trainer.cpp) runs them, and bench/train_speed.cpp
// times exactly them.
#include <torch/torch.h>

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

}  // namespace gradgate
