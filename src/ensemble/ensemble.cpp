#include "gradgate/ensemble.h"

#include <chrono>
#include <algorithm>
#include <map>

#include <tbb/parallel_for.h>

#include "gradgate/error.h"
#include "gradgate/gradcam.h"
#include "gradgate/preprocess.h"
#include "gradgate/zoo/registry.h"
#include "gradgate/zoo/weights.h"

namespace gradgate {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Members that share an input side share one preprocessed batch.
std::map<int64_t, torch::Tensor> preprocess_by_side(const std::vector<cv::Mat>& grays,
                                                    const std::vector<EnsembleMemberSpec>& members,
                                                    const Normalization& norm) {
  std::map<int64_t, torch::Tensor> by_side;
  for (const auto& spec : members)
    if (!by_side.count(spec.preset.input_side))
      by_side[spec.preset.input_side] = preprocess_batch(grays, spec.preset.input_side, norm);
  return by_side;
}

}  // namespace

struct Ensemble::Impl {
  std::vector<Member> nets;
  CamOptions cam;
};

Ensemble::Ensemble(EnsembleOptions options) : options_(std::move(options)), impl_(new Impl) {
  if (options_.members.empty()) throw ModelError("ensemble: no members given");
  if (options_.classes.size() < 2)
    throw ModelError("ensemble: a task needs at least 2 classes, got " +
                     std::to_string(options_.classes.size()));
  impl_->cam.method = cam_method_from_string(options_.cam);
  const int64_t k = static_cast<int64_t>(options_.classes.size());
  for (const auto& spec : options_.members) {
    Member m = make_member(spec.name, {k, spec.preset.width, spec.preset.input_side});
    if (!spec.weights.empty()) {
      LoadOptions lo;  // strict: a models folder must match its manifest exactly
      try {
        load_torchvision_state_dict(*m, spec.weights, lo);
      } catch (const std::exception& e) {
        throw ModelError("member " + spec.name + ": " + e.what());
      }
    }
    m->eval();
    impl_->nets.push_back(m);
  }
}

Ensemble::~Ensemble() = default;
Ensemble::Ensemble(Ensemble&&) noexcept = default;

std::vector<std::string> Ensemble::untrained_members() const {
  std::vector<std::string> names;
  for (const auto& s : options_.members)
    if (s.weights.empty()) names.push_back(s.name);
  return names;
}

std::vector<ImageOutcome> Ensemble::classify(const std::vector<cv::Mat>& grays,
                                             const std::vector<LungMask>& masks,
                                             EnsembleTimings* timings) {
  const auto t_start = std::chrono::steady_clock::now();
  if (grays.size() != masks.size())
    throw std::invalid_argument("Ensemble::classify: " + std::to_string(grays.size()) +
                                " images but " + std::to_string(masks.size()) + " masks");
  const size_t n = grays.size(), m = impl_->nets.size();
  std::vector<ImageOutcome> out(n);
  if (n == 0) return out;
  std::vector<cv::Size> sizes(n);
  for (size_t i = 0; i < n; ++i) sizes[i] = grays[i].size();

  // Every member explains the whole batch: one head-only backward per member per batch.
  std::vector<CamResult> cams(m);
  const auto t_members = std::chrono::steady_clock::now();
  const auto inputs = preprocess_by_side(grays, options_.members, options_.normalization);
  for_each_member(
      m,
      [&](size_t j) {
        const torch::Tensor& x = inputs.at(options_.members[j].preset.input_side);
        cams[j] = grad_cam(*impl_->nets[j], x, sizes, {}, impl_->cam);
      },
      options_.mode);
  const double members_s = seconds_since(t_members);

  // Gate and vote per image, images in parallel (each writes only its own row). The class
  // probabilities leave torch once per member, and each mask becomes float weights once per
  // image rather than once per member.
  const auto t_gate = std::chrono::steady_clock::now();
  std::vector<std::vector<std::vector<double>>> member_probs(m);
  for (size_t j = 0; j < m; ++j) member_probs[j] = probabilities(cams[j].batch);
  tbb::parallel_for(size_t{0}, n, [&](size_t i) {
    ImageOutcome& o = out[i];
    o.ok = true;
    o.gray = grays[i];
    o.mask = masks[i];
    const bool no_mask = masks[i].empty();
    cv::Mat weights;
    if (!no_mask) masks[i].mask.convertTo(weights, CV_32F, 1.0 / 255.0);
    const double mask_fraction = no_mask ? 0.0 : cv::countNonZero(masks[i].mask) / double(masks[i].mask.total());
    std::vector<LungShare> shares(m);
    std::vector<std::vector<double>> probs(m);
    o.members.resize(m);
    for (size_t j = 0; j < m; ++j) {
      MemberOutcome& mo = o.members[j];
      mo.name = options_.members[j].name;
      mo.probs = member_probs[j][i];
      mo.label = static_cast<int>(std::max_element(mo.probs.begin(), mo.probs.end()) - mo.probs.begin());
      mo.probability = mo.probs[static_cast<size_t>(mo.label)];
      if (no_mask) {
        mo.share.status = GateStatus::EmptyMask;
        mo.share.mask_fraction = 0.0;
      } else if (cams[j].batch.empty[i]) {
        mo.share.status = GateStatus::EmptyMap;
        mo.share.mask_fraction = mask_fraction;
      } else {
        mo.share = lung_share(cams[j].maps[i], weights);
      }
      if (options_.keep_maps) mo.map = cams[j].maps[i];
      shares[j] = mo.share;
      probs[j] = mo.probs;
    }
    o.gate = gate_decide(shares, options_.gate);
    for (size_t j = 0; j < m; ++j) {
      o.members[j].passed = o.gate.passed[j];
      o.members[j].kept = o.gate.kept[j];
    }
    o.vote = vote_gated(probs, shares, o.gate, options_.vote);
  });
  if (timings) {
    timings->members += members_s;
    timings->gate_vote += seconds_since(t_gate);
    timings->total += seconds_since(t_start);
  }
  return out;
}

std::vector<std::vector<std::vector<double>>> Ensemble::forward_only(const std::vector<cv::Mat>& grays) {
  const size_t m = impl_->nets.size();
  std::vector<std::vector<std::vector<double>>> out(m);
  if (grays.empty()) return out;
  const auto inputs = preprocess_by_side(grays, options_.members, options_.normalization);
  for_each_member(
      m,
      [&](size_t j) {
        torch::InferenceMode guard;
        const torch::Tensor& x = inputs.at(options_.members[j].preset.input_side);
        torch::Tensor p = torch::softmax(impl_->nets[j]->forward(x), 1).contiguous();
        for (int64_t i = 0; i < p.size(0); ++i)
          out[j].emplace_back(p[i].data_ptr<float>(), p[i].data_ptr<float>() + p.size(1));
      },
      options_.mode);
  return out;
}

}  // namespace gradgate
