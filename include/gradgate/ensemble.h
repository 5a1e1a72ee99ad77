#pragma once
// The gated ensemble: every member explains its prediction with Grad-CAM, the lung gate
// keeps the members whose map lies mostly inside the lungs, the kept members vote.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/cam_method.h"
#include "gradgate/config.h"
#include "gradgate/domain.h"
#include "gradgate/gate.h"
#include "gradgate/lung_mask.h"
#include "gradgate/member_card.h"
#include "gradgate/outcome.h"
#include "gradgate/parallel.h"
#include "gradgate/vote.h"

namespace gradgate {

struct EnsembleMemberSpec {
  MemberCard card;                // name, input side, width, its own normalisation
  std::filesystem::path weights;  // state dict; empty = untrained (random) weights
  // The models manifest's "fnv1a64:<hex>" of `weights` (store/models_manifest.h); when set, a
  // file whose bytes hash otherwise is refused before it is read (another task's or run's
  // weights of the same shapes would load silently). Empty: not checked (older manifests).
  std::string weights_hash;
};

struct EnsembleOptions {
  std::vector<EnsembleMemberSpec> members;
  std::vector<std::string> classes;
  GateOptions gate;
  VoteRule vote = VoteRule::Soft;
  CamMethod cam = CamMethod::GradCam;
  CamLayer cam_layer = CamLayer::Fine;
  RunMode mode = RunMode::Parallel;
  bool keep_maps = true;          // keep each member's map at image size in the outcome
  // When > 0, kept maps of an image whose longer side exceeds this are kept smaller, at this
  // longer side (aspect kept): 19 maps of a 50 MP image at full size are 3.8 GB of floats,
  // for overlays 512 px wide. The gate never uses them (it works on the feature grid).
  int max_map_side = 0;
  // The models folder's domain model (domain.h); null: no check (ImageOutcome::domain stays
  // unchecked). Members it has no entry for are left out of the image's median.
  std::shared_ptr<const DomainModel> domain;
  // Abstain: a flagged image abstains with the check's reason; Flag: it is only marked.
  DomainMode domain_mode = DomainMode::Flag;
};

// Time spent per stage over a call, for the benchmark (seconds, wall clock).
struct EnsembleTimings {
  double masks = 0, members = 0, gate_vote = 0, total = 0;
};

class Ensemble {
 public:
  // Builds every member (and loads its weights); throws ModelError naming the member/file,
  // or naming both hashes when a file does not match its weights_hash.
  explicit Ensemble(EnsembleOptions options);
  ~Ensemble();
  Ensemble(Ensemble&&) noexcept;

  const EnsembleOptions& options() const { return options_; }
  // Names of members running with random weights (no weights file).
  std::vector<std::string> untrained_members() const;

  // Classifies a batch of loaded images (CV_32FC1 [0,1]) with their lung masks. One
  // Grad-CAM pass (one backward) per member per batch; members run per options.mode.
  std::vector<ImageOutcome> classify(const std::vector<cv::Mat>& grays,
                                     const std::vector<LungMask>& masks,
                                     EnsembleTimings* timings = nullptr);

  // The baseline the gate's overhead is measured against: preprocess + forward of every
  // member, no Grad-CAM, no mask, no gate. Returns per member the [N,K] probabilities.
  std::vector<std::vector<std::vector<double>>> forward_only(const std::vector<cv::Mat>& grays);

  // What the domain check scores, without Grad-CAM: per member (options order) the study
  // layer's activations averaged over the grid, one row per image ([N x C]). The same
  // preprocessing and weights as classify, so a model fitted on these fits classify's.
  std::vector<FeatureMatrix> pooled_features(const std::vector<cv::Mat>& grays);

 private:
  struct Impl;
  EnsembleOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gradgate
