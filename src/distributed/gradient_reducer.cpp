#include "gradgate/gradient_reducer.h"

#include <stdexcept>

namespace gradgate {

GradientReducer::GradientReducer(Comm& comm, std::vector<torch::Tensor> params,
                                 int64_t bucket_bytes)
    : comm_(&comm), params_(std::move(params)) {
  const std::size_t n = params_.size();
  bucket_of_.assign(n, 0);
  offset_of_.assign(n, 0);
  seen_.assign(n, 0);
  // From the last parameter back: backward produces the head's gradients first.
  int64_t bytes = 0;
  for (std::size_t k = n; k-- > 0;) {
    const auto& p = params_[k];
    const int64_t b = p.numel() * static_cast<int64_t>(p.element_size());
    if (buckets_.empty() || bytes + b > bucket_bytes ||
        params_[buckets_.back().params.front()].scalar_type() != p.scalar_type()) {
      buckets_.emplace_back();
      bytes = 0;
    }
    auto& bk = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    offset_of_[k] = static_cast<std::size_t>(bytes / p.element_size());
    bk.params.push_back(k);
    bytes += b;
  }
  for (auto& bk : buckets_) {
    int64_t numel = 0;
    for (auto k : bk.params) numel += params_[k].numel();
    bk.flat = torch::zeros({numel}, params_[bk.params.front()].options().requires_grad(false));
  }
  if (comm_->world() == 1) return;  // nothing to sum: no hooks
  for (std::size_t k = 0; k < n; ++k)
    hooks_.push_back(params_[k].register_hook([this, k](torch::Tensor g) { on_gradient(k, g); }));
}

GradientReducer::~GradientReducer() {
  for (std::size_t k = 0; k < hooks_.size(); ++k) params_[k].remove_hook(hooks_[k]);
  // A step abandoned by an exception may leave transfers in flight over our buffers (a
  // Pending already waited for, or never started, returns at once).
  std::vector<Comm::Pending*> pending;
  for (auto& e : extra_) pending.push_back(&e);
  for (auto& bk : buckets_) pending.push_back(&bk.work);
  for (auto* p : pending) {
    try {
      p->wait();
    } catch (...) {
    }
  }
}

torch::Tensor GradientReducer::slot(std::size_t k) const {
  return buckets_[bucket_of_[k]].flat.narrow(0, static_cast<int64_t>(offset_of_[k]), params_[k].numel());
}

void GradientReducer::begin_step(std::vector<torch::Tensor> extra) {
  std::fill(seen_.begin(), seen_.end(), 0);
  // First, before any bucket, on every rank: the same order of collectives everywhere.
  extra_.clear();
  for (auto& t : extra) extra_.push_back(comm_->start_allreduce_sum(t));
  for (auto& bk : buckets_) bk.waiting = static_cast<int>(bk.params.size());
  next_launch_ = 0;
  error_ = nullptr;
  in_step_ = true;
}

// Called by autograd, once per parameter and backward pass, with the parameter's whole
// gradient for this pass (before it is added into grad(), which zero_grad emptied).
void GradientReducer::on_gradient(std::size_t k, const torch::Tensor& g) {
  if (!in_step_ || error_) return;  // a backward outside a training step (or after a failure)
  try {
    torch::NoGradGuard no_grad;
    if (seen_[k]) {
      // A second gradient for the same parameter in one step: add it, unless sent already.
      if (bucket_of_[k] < next_launch_) throw std::logic_error("a gradient arrived after its bucket was sent");
      slot(k).add_(g.reshape({-1}));
      return;
    }
    slot(k).copy_(g.reshape({-1}));
    seen_[k] = 1;
    --buckets_[bucket_of_[k]].waiting;
    launch_ready(/*in_backward=*/true);
  } catch (...) {
    // Never throw through autograd's engine: finish_step rethrows it on this thread.
    error_ = std::current_exception();
  }
}

void GradientReducer::launch_ready(bool in_backward) {
  // In index order only, so that every rank issues the same collectives in the same order
  // whatever order its hooks fire in.
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].waiting == 0) {
    auto& bk = buckets_[next_launch_++];
    bk.work = comm_->start_allreduce_sum(bk.flat);
    ++launched_total_;
    if (in_backward) ++launched_early_;
  }
}

void GradientReducer::finish_step() {
  if (comm_->world() == 1) return;
  in_step_ = false;
  for (auto& e : extra_) e.wait();
  extra_.clear();
  if (error_) std::rethrow_exception(error_);
  torch::NoGradGuard no_grad;
  for (std::size_t k = 0; k < params_.size(); ++k)
    if (!seen_[k]) {
      slot(k).zero_();
      seen_[k] = 1;
      --buckets_[bucket_of_[k]].waiting;
    }
  launch_ready(/*in_backward=*/false);
  for (auto& bk : buckets_) {
    bk.work.wait();
    for (auto k : bk.params) {
      auto& p = params_[k];
      auto sum = slot(k).view_as(p);
      if (p.grad().defined())
        p.mutable_grad().copy_(sum);
      else
        p.mutable_grad() = sum.clone();
    }
  }
}

}  // namespace gradgate
