// Pooled features of a models folder's members over samples, and the per-member fit and the
// image verdicts built on them (domain_features.h).
#include "domain/domain_features.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

#include "gradgate/common/fnv1a.h"
#include "gradgate/common/quantile.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/member_card.h"
#include "gradgate/parallel.h"
#include "gradgate/report.h"

namespace gradgate::domain_detail {

namespace fs = std::filesystem;

EnsembleOptions members_of(const ModelsManifest& manifest) {
  EnsembleOptions eo;
  eo.classes = manifest.classes;
  for (const auto& e : manifest.members) eo.members.push_back({card_from_manifest(e), e.file, e.weights_hash});
  eo.keep_maps = false;
  return eo;
}

std::vector<FeatureMatrix> extract_features(Ensemble& ensemble, const std::vector<Sample>& samples, int batch,
                                            bool progress, const std::string& label) {
  const std::size_t members = ensemble.options().members.size();
  std::vector<FeatureMatrix> out(members + 1);  // the last: each film's look (image_look)
  const int side = ImageDomain{}.side;
  out[members].cols = ImageDomain{}.dims();
  ProgressBar bar(samples.size(), label, progress ? ProgressBar::Mode::Auto : ProgressBar::Mode::Off);
  const std::size_t step = static_cast<std::size_t>(std::max(1, batch));
  for (std::size_t start = 0; start < samples.size(); start += step) {
    const std::size_t n = std::min(step, samples.size() - start);
    std::vector<cv::Mat> grays(n);
    std::vector<std::string> errors(n);
    tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) {
      try {
        grays[i] = load_gray(samples[start + i].image);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
    for (std::size_t i = 0; i < n; ++i)
      if (!errors[i].empty())
        throw DatasetError("domain model: image " + samples[start + i].image.string() + " cannot be read: " + errors[i]);
    for (std::size_t i = 0; i < n; ++i) {
      const std::vector<float> look = image_look(grays[i], side);
      out[members].data.insert(out[members].data.end(), look.begin(), look.end());
      ++out[members].rows;
    }
    const std::vector<FeatureMatrix> part = ensemble.pooled_features(grays);
    for (std::size_t j = 0; j < members; ++j) {
      if (out[j].cols == 0) out[j].cols = part[j].cols;
      out[j].data.insert(out[j].data.end(), part[j].data.begin(), part[j].data.end());
      out[j].rows += part[j].rows;
    }
    bar.update(start + n);
  }
  bar.finish();
  return out;
}

FeatureMatrix rows_of(const FeatureMatrix& m, const std::vector<std::size_t>& index) {
  FeatureMatrix out;
  out.rows = index.size();
  out.cols = m.cols;
  out.data.reserve(index.size() * m.cols);
  for (std::size_t i : index) out.data.insert(out.data.end(), m.row(i), m.row(i) + m.cols);
  return out;
}

DomainModel fit_domain(const std::vector<std::string>& members, const std::vector<FeatureMatrix>& train,
                       const std::vector<FeatureMatrix>& val, const DomainFitOptions& options) {
  DomainModel model;
  model.quantile = options.quantile;
  model.members.resize(members.size());
  for_each_member(members.size(), [&](std::size_t j) {
    model.members[j] = fit_member_domain(members[j], train[j], val[j], options);
  });
  // The ensemble's calibration. Each member alone sits at its val quantile, but the median
  // of 19 ratios is far below any one member's tail (on models/pneumonia the val median
  // ratio's 99th percentile was 0.65): "median > 1" flagged 2-4% of unseen adult films. So
  // every member's threshold is multiplied by the val quantile of the median ratio: the
  // median over members of score / threshold then exceeds 1 on exactly (1 - quantile) of the
  // val images, and the rule stays "flagged when > 1" with one threshold per member.
  std::vector<double> medians(val.empty() ? 0 : val[0].rows);
  for (std::size_t i = 0; i < medians.size(); ++i) {
    std::vector<double> r;
    for (std::size_t j = 0; j < members.size(); ++j)
      r.push_back(model.members[j].score(val[j].row(i), val[j].cols) / model.members[j].threshold);
    medians[i] = domain_verdict(r, options.quantile).score;
  }
  const auto quantile_of = [&](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return sorted_quantile(v, options.quantile);
  };
  double member_factor = 1.0;
  if (!medians.empty()) {
    const double factor = quantile_of(medians);
    if (factor > 0 && std::isfinite(factor)) {
      for (auto& m : model.members) m.threshold *= factor;
      member_factor = factor;
    }
  }
  // The film's look (the matrix after the members'), when asked for and given. It is a second
  // test beside the members' median, and a film is outside when either says so; both are
  // then scaled by one more factor so that the larger of the two ratios exceeds 1 on exactly
  // (1 - quantile) of the val images, as the members' median alone did.
  // Fewer training films than the look's k: the members' part alone (it needs only 2).
  if (options.image && train.size() > members.size() && val.size() > members.size() && !medians.empty() &&
      train.back().rows >= static_cast<std::size_t>(std::max(2, ImageDomain{}.k))) {
    model.image = fit_image_domain(train.back(), val.back(), options.quantile);
    // The members' median ratio under the scaled thresholds is medians[i] / member_factor (a
    // median scales with its values): no member is scored again.
    std::vector<double> larger(medians.size());
    for (std::size_t i = 0; i < medians.size(); ++i) {
      const float* row = val.back().row(i);
      const double look = model.image->score(std::vector<float>(row, row + val.back().cols)) / model.image->threshold;
      larger[i] = std::max(medians[i] / member_factor, look);
    }
    const double factor = quantile_of(larger);
    if (factor > 0 && std::isfinite(factor)) {
      for (auto& m : model.members) m.threshold *= factor;
      model.image->threshold *= factor;
    }
  }
  return model;
}

std::vector<DomainVerdict> verdicts(const DomainModel& model, const std::vector<std::string>& members,
                                    const std::vector<FeatureMatrix>& features, const std::vector<std::size_t>& index) {
  std::vector<const MemberDomain*> per(members.size());
  for (std::size_t j = 0; j < members.size(); ++j) per[j] = model.find(members[j]);
  std::vector<DomainVerdict> out(index.size());
  tbb::parallel_for(std::size_t{0}, index.size(), [&](std::size_t r) {
    std::vector<double> ratios;
    for (std::size_t j = 0; j < members.size(); ++j)
      if (per[j]) ratios.push_back(per[j]->score(features[j].row(index[r]), features[j].cols) / per[j]->threshold);
    out[r] = domain_verdict(ratios, model.quantile);
    if (model.image && features.size() > members.size()) {
      const FeatureMatrix& look = features[members.size()];
      const float* row = look.row(index[r]);
      add_image_verdict(out[r], model.image->score(std::vector<float>(row, row + look.cols)) / model.image->threshold,
                        model.quantile);
    }
  });
  return out;
}

std::string data_file_hash(const fs::path& data) {
  fs::path file = data;
  if (fs::is_directory(data) && fs::exists(data / "manifest.csv")) file = data / "manifest.csv";
  if (!fs::is_regular_file(file)) return "";
  return fnv1a64_label(fnv1a64_file(file, kGradgateFnvBasis));
}

}  // namespace gradgate::domain_detail
