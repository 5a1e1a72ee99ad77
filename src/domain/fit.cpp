// Fitting one member's domain model: probabilistic PCA of its pooled features on the train
// split, the threshold from the val split (domain.h).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "gradgate/common/quantile.h"
#include "gradgate/domain.h"
#include "gradgate/error.h"

namespace gradgate {

namespace {

torch::Tensor as_tensor(const FeatureMatrix& m) {
  return torch::from_blob(const_cast<float*>(m.data.data()),
                          {static_cast<int64_t>(m.rows), static_cast<int64_t>(m.cols)}, torch::kFloat32)
      .to(torch::kFloat64);
}

}  // namespace

MemberDomain fit_member_domain(const std::string& member, const FeatureMatrix& train, const FeatureMatrix& val,
                               const DomainFitOptions& options) {
  if (train.rows < 2)
    throw DatasetError("domain model of " + member + ": " + std::to_string(train.rows) +
                       " training images; at least 2 are needed");
  if (val.rows < 1) throw DatasetError("domain model of " + member + ": no validation images to calibrate on");
  if (train.cols == 0 || val.cols != train.cols || train.data.size() != train.rows * train.cols ||
      val.data.size() != val.rows * val.cols)
    throw std::invalid_argument("fit_member_domain: feature matrices of " + member + " have inconsistent shapes");
  if (options.max_components < 1) throw std::invalid_argument("fit_member_domain: max_components < 1");
  if (!(options.quantile > 0 && options.quantile < 1))
    throw std::invalid_argument("fit_member_domain: quantile outside (0, 1)");

  torch::NoGradGuard no_grad;
  const int64_t c = static_cast<int64_t>(train.cols);
  const torch::Tensor x = as_tensor(train);
  const torch::Tensor mean = x.mean(0);
  const torch::Tensor xc = x - mean;
  const torch::Tensor cov = xc.t().mm(xc) / static_cast<double>(train.rows - 1);
  // eigh: ascending eigenvalues; flipped to descending.
  auto [evals, evecs] = torch::linalg_eigh(cov);
  evals = evals.flip(0).clamp_min(0.0);
  evecs = evecs.flip(1);
  const int64_t k = std::min<int64_t>(c, options.max_components);
  // Floor: a direction with (numerically) no variance on the train split would make any
  // image that moves along it infinitely far; 1e-6 of the mean variance per channel bounds it.
  const double floor = std::max(1e-6 * evals.sum().item<double>() / static_cast<double>(c), 1e-12);

  MemberDomain d;
  d.member = member;
  const torch::Tensor mean_f = mean.to(torch::kFloat32).contiguous();
  d.mean.assign(mean_f.data_ptr<float>(), mean_f.data_ptr<float>() + c);
  // Stored as float16 (domain.h): the model is scored with the rounded directions, so the
  // threshold below is calibrated on exactly what classify will compute.
  const torch::Tensor w =
      evecs.narrow(1, 0, k).t().contiguous().to(torch::kHalf).to(torch::kFloat32).contiguous();  // [k, C]
  d.components.assign(w.data_ptr<float>(), w.data_ptr<float>() + k * c);
  const torch::Tensor lam = evals.narrow(0, 0, k).clamp_min(floor).to(torch::kFloat32).contiguous();
  d.variances.assign(lam.data_ptr<float>(), lam.data_ptr<float>() + k);
  // Probabilistic PCA's maximum-likelihood noise variance: the mean of the discarded eigenvalues.
  d.residual_variance = k < c ? std::max(evals.narrow(0, k, c - k).mean().item<double>(), floor) : 0.0;

  std::vector<double> scores(val.rows);
  for (std::size_t i = 0; i < val.rows; ++i) scores[i] = d.score(val.row(i), val.cols);
  std::sort(scores.begin(), scores.end());
  d.threshold = std::max(sorted_quantile(scores, options.quantile), 1e-12);
  return d;
}

}  // namespace gradgate
