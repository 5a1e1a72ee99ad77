#include "gradgate/ensemble.h"

#include <chrono>
#include <cmath>
#include <algorithm>
#include <map>

#include <tbb/parallel_for.h>

#include "gradgate/error.h"
#include "gradgate/gradcam.h"
#include "gradgate/preprocess.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/zoo/registry.h"
#include "gradgate/zoo/weights.h"

namespace gradgate {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Every member's input, prepared as its card says; members whose cards agree on the input
// side and the normalisation share one preprocessed batch.
std::vector<torch::Tensor> preprocess_members(const std::vector<cv::Mat>& grays,
                                              const std::vector<EnsembleMemberSpec>& members) {
  std::vector<torch::Tensor> inputs(members.size());
  for (size_t j = 0; j < members.size(); ++j) {
    const MemberCard& c = members[j].card;
    for (size_t k = 0; k < j && !inputs[j].defined(); ++k)
      if (members[k].card.input_side == c.input_side && members[k].card.normalization == c.normalization)
        inputs[j] = inputs[k];
    if (!inputs[j].defined()) inputs[j] = preprocess_batch(grays, c);
  }
  return inputs;
}

// Copies a [N,C] float tensor into a FeatureMatrix.
FeatureMatrix feature_matrix(const torch::Tensor& pooled) {
  const torch::Tensor p = pooled.to(torch::kFloat32).contiguous();
  FeatureMatrix f;
  f.rows = static_cast<std::size_t>(p.size(0));
  f.cols = static_cast<std::size_t>(p.size(1));
  f.data.assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  return f;
}

// The image's domain verdict from every member's pooled features (row i of each).
DomainVerdict image_domain(const std::vector<const MemberDomain*>& models, const std::vector<FeatureMatrix>& pooled,
                           size_t i, double quantile) {
  std::vector<double> ratios;
  ratios.reserve(models.size());
  for (size_t j = 0; j < models.size(); ++j)
    if (models[j]) ratios.push_back(models[j]->score(pooled[j].row(i), pooled[j].cols) / models[j]->threshold);
  return domain_verdict(ratios, quantile);
}

}  // namespace

struct Ensemble::Impl {
  std::vector<Member> nets;
  CamOptions cam;
  // Per member: its entry in options.domain, or null (no model, or none for this member).
  std::vector<const MemberDomain*> domain;
};

Ensemble::Ensemble(EnsembleOptions options) : options_(std::move(options)), impl_(new Impl) {
  if (options_.members.empty()) throw ModelError("ensemble: no members given");
  if (options_.classes.size() < 2)
    throw ModelError("ensemble: a task needs at least 2 classes, got " +
                     std::to_string(options_.classes.size()));
  impl_->cam.method = options_.cam;
  impl_->cam.layer = options_.cam_layer;
  const int64_t k = static_cast<int64_t>(options_.classes.size());
  for (const auto& spec : options_.members) {
    Member m = make_member(spec.card.member,
                           {k, spec.card.width, spec.card.input_side, spec.card.classifier_width});
    if (!spec.weights.empty()) {
      LoadOptions lo;  // strict: a models folder must match its manifest exactly
      if (!spec.weights_hash.empty()) {
        std::string actual;
        try {
          actual = weights_file_hash(spec.weights);
        } catch (const std::exception& e) {
          throw ModelError("member " + spec.card.member + ": " + e.what());
        }
        if (actual != spec.weights_hash)
          throw ModelError("member " + spec.card.member + ": weights file " + spec.weights.string() +
                           " is not the one its models manifest lists (manifest weights_hash " +
                           spec.weights_hash + ", file " + actual +
                           "): replaced or from another run; retrain, or restore the file");
      }
      try {
        load_torchvision_state_dict(*m, spec.weights, lo);
      } catch (const std::exception& e) {
        throw ModelError("member " + spec.card.member + ": " + e.what());
      }
    }
    m->eval();
    impl_->nets.push_back(m);
  }
  // Each member's domain entry, looked up once (its width is checked on the first batch).
  impl_->domain.assign(options_.members.size(), nullptr);
  if (options_.domain && options_.domain_mode != DomainMode::Off)
    for (size_t j = 0; j < options_.members.size(); ++j) impl_->domain[j] = options_.domain->find(options_.members[j].card.member);
}

Ensemble::~Ensemble() = default;
Ensemble::Ensemble(Ensemble&&) noexcept = default;

std::vector<std::string> Ensemble::untrained_members() const {
  std::vector<std::string> names;
  for (const auto& s : options_.members)
    if (s.weights.empty()) names.push_back(s.card.member);
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
  // The size kept maps are upsampled to: the image's, within max_map_side.
  std::vector<cv::Size> sizes(n);
  for (size_t i = 0; i < n; ++i) {
    sizes[i] = grays[i].size();
    const int side = std::max(sizes[i].width, sizes[i].height);
    if (options_.max_map_side > 0 && side > options_.max_map_side) {
      const double s = options_.max_map_side / static_cast<double>(side);
      sizes[i] = cv::Size(std::max(1, static_cast<int>(std::lround(sizes[i].width * s))),
                          std::max(1, static_cast<int>(std::lround(sizes[i].height * s))));
    }
  }

  // Every member explains the whole batch: one head-only backward per member per batch. The
  // maps stay at the feature grid's resolution here; the gate works there (below).
  std::vector<CamBatch> cams(m);
  const auto t_members = std::chrono::steady_clock::now();
  const auto inputs = preprocess_members(grays, options_.members);
  for_each_member(
      m,
      [&](size_t j) {
        const torch::Tensor& x = inputs[j];
        cams[j] = compute_cam(*impl_->nets[j], x, {}, impl_->cam);
        cams[j].low_res = cams[j].low_res.to(torch::kFloat32).contiguous();
      },
      options_.mode);
  const double members_s = seconds_since(t_members);
  // The domain check's input: each member's pooled study layer, which the Grad-CAM pass
  // above computed anyway (CamBatch::pooled).
  const bool check_domain = std::any_of(impl_->domain.begin(), impl_->domain.end(), [](const MemberDomain* d) { return d != nullptr; });
  std::vector<FeatureMatrix> pooled(m);
  if (check_domain)
    for (size_t j = 0; j < m; ++j) {
      pooled[j] = feature_matrix(cams[j].pooled);
      if (impl_->domain[j] && pooled[j].cols != impl_->domain[j]->channels())
        throw ModelError("member " + options_.members[j].card.member + ": its domain model expects " +
                         std::to_string(impl_->domain[j]->channels()) + " features, the member gives " +
                         std::to_string(pooled[j].cols) + " (fitted on other weights? refit with ensemble-domain fit)");
    }

  // Gate and vote per image, images in parallel (each writes only its own row). The class
  // probabilities leave torch once per member. Each image's mask is pulled back once onto
  // every distinct feature grid (project_mask): a member's in-lung share is then an h x w
  // dot product, equal to the share of its map upsampled to the image (gradgate/bilinear.h).
  // Maps are upsampled only when the caller keeps them (to draw or save).
  const auto t_gate = std::chrono::steady_clock::now();
  std::vector<std::vector<std::vector<double>>> member_probs(m);
  std::vector<cv::Size> grids(m);
  for (size_t j = 0; j < m; ++j) {
    member_probs[j] = probabilities(cams[j]);
    grids[j] = cv::Size(static_cast<int>(cams[j].low_res.size(2)), static_cast<int>(cams[j].low_res.size(1)));
  }
  tbb::parallel_for(size_t{0}, n, [&](size_t i) {
    ImageOutcome& o = out[i];
    o.ok = true;
    o.gray = grays[i];
    o.mask = masks[i];
    const bool no_mask = masks[i].empty();
    std::map<std::pair<int, int>, ProjectedMask> projected;  // by grid (w, h)
    const double mask_fraction = no_mask ? 0.0 : cv::countNonZero(masks[i].mask) / double(masks[i].mask.total());
    std::vector<LungShare> shares(m);
    std::vector<std::vector<double>> probs(m);
    o.members.resize(m);
    for (size_t j = 0; j < m; ++j) {
      MemberOutcome& mo = o.members[j];
      mo.name = options_.members[j].card.member;
      mo.untrained = options_.members[j].weights.empty();
      mo.probs = member_probs[j][i];
      mo.label = static_cast<int>(std::max_element(mo.probs.begin(), mo.probs.end()) - mo.probs.begin());
      mo.probability = mo.probs[static_cast<size_t>(mo.label)];
      const torch::Tensor low = cams[j].low_res[static_cast<int64_t>(i)];
      const cv::Mat low_map(grids[j], CV_32FC1, low.data_ptr<float>());
      if (no_mask) {
        mo.share.status = GateStatus::EmptyMask;
        mo.share.mask_fraction = 0.0;
      } else if (!masks[i].invalid.empty()) {
        // mask_validity refused it (all white, a speck, noise): no member is judged against it.
        mo.share.status = GateStatus::InvalidMask;
        mo.share.mask_fraction = mask_fraction;
      } else if (cams[j].empty[i]) {
        mo.share.status = GateStatus::EmptyMap;
        mo.share.mask_fraction = mask_fraction;
      } else {
        auto it = projected.find({grids[j].width, grids[j].height});
        if (it == projected.end())
          it = projected.emplace(std::make_pair(grids[j].width, grids[j].height),
                                 project_mask(masks[i].mask, grids[j])).first;
        mo.share = lung_share(low_map, it->second);
      }
      if (options_.keep_maps) mo.map = upsample_map(low, sizes[i]);
      shares[j] = mo.share;
      probs[j] = mo.probs;
    }
    o.gate = gate_decide(shares, options_.gate);
    for (size_t j = 0; j < m; ++j) {
      o.members[j].passed = o.gate.passed[j];
      o.members[j].kept = o.gate.kept[j];
    }
    o.vote = vote_gated(probs, o.gate, options_.vote);
    if (check_domain) {
      o.domain = image_domain(impl_->domain, pooled, i, options_.domain->quantile);
      if (const auto& look = options_.domain->image)
        add_image_verdict(o.domain, look->score(image_look(grays[i], look->side)) / look->threshold,
                          options_.domain->quantile);
      if (o.domain.flagged && options_.domain_mode == DomainMode::Abstain) {
        VoteResult abstain;
        abstain.abstained = true;
        abstain.reason = o.domain.reason;
        o.vote = abstain;
      }
    }
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
  const auto inputs = preprocess_members(grays, options_.members);
  for_each_member(
      m,
      [&](size_t j) {
        torch::InferenceMode guard;
        const torch::Tensor& x = inputs[j];
        torch::Tensor p = torch::softmax(impl_->nets[j]->forward(x), 1).contiguous();
        for (int64_t i = 0; i < p.size(0); ++i)
          out[j].emplace_back(p[i].data_ptr<float>(), p[i].data_ptr<float>() + p.size(1));
      },
      options_.mode);
  return out;
}

std::vector<FeatureMatrix> Ensemble::pooled_features(const std::vector<cv::Mat>& grays) {
  const size_t m = impl_->nets.size();
  std::vector<FeatureMatrix> out(m);
  if (grays.empty()) return out;
  const auto inputs = preprocess_members(grays, options_.members);
  for_each_member(
      m,
      [&](size_t j) {
        torch::InferenceMode guard;
        const torch::Tensor a = impl_->nets[j]->features(inputs[j]);
        if (a.dim() != 4)
          throw ModelError("member " + options_.members[j].card.member + ": its study layer returned " +
                           std::to_string(a.dim()) + " dimensions, expected [N,C,h,w]");
        out[j] = feature_matrix(a.mean({2, 3}));
      },
      options_.mode);
  return out;
}

}  // namespace gradgate
