#pragma once
// What the gated ensemble decides for one image, member by member: the gate's and the
// vote's level, with no torch and no ensemble. ensemble.h produces it; report.h writes it.
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/domain.h"
#include "gradgate/gate.h"
#include "gradgate/lung_mask.h"
#include "gradgate/vote.h"

namespace gradgate {

struct MemberOutcome {
  std::string name;
  int label = -1;                 // argmax class
  double probability = 0.0;       // probability of `label`
  std::vector<double> probs;      // per class
  LungShare share;                // in-lung share, lift, status
  bool passed = false;            // share >= tau
  bool kept = false;              // voted (passed, or chosen by the fallback)
  bool untrained = false;         // ran with random weights (--allow-untrained): its vote means nothing
  cv::Mat map;                    // CV_32FC1 at the image's size (when keep_maps)
};

struct ImageOutcome {
  std::filesystem::path image;
  bool ok = false;                // false: the image could not be processed (see error)
  std::string error;
  std::string truth;              // the true class name when the input says (manifest/CSV), else empty
  std::string credit;             // the image's licence and citation when the input says (InputImage)
  cv::Mat gray;                   // CV_32FC1 [0,1], the image as loaded
  LungMask mask;
  GateDecision gate;
  VoteResult vote;                // label -1 / abstained when the gate abstains
  std::vector<MemberOutcome> members;
  // The domain check (domain.h): unchecked when the models folder has no domain model or the
  // check is off; with `--domain abstain` a flagged image's vote is an abstention with its reason.
  DomainVerdict domain;
};

}  // namespace gradgate
