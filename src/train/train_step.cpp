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

double train_step(const Member& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                  const torch::Tensor& y, const torch::Tensor& class_weights) {
  optimizer.zero_grad();
  auto logits = model->forward(x);
  auto loss = class_weights.defined()
                  ? F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().weight(class_weights))
                  : F::cross_entropy(logits, y);
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

}  // namespace gradgate
