#pragma once
// The domain check: does an image look like the images the members were trained on?
//
// Members trained on one children's hospital are confidently wrong on adult films from
// elsewhere, and their probabilities do not say so. Each member's study-layer activations,
// global-average pooled to one C-vector per image (the features classify computes anyway),
// are modelled on the task's train split by a probabilistic-PCA Gaussian: the mean, the top k
// principal directions with their variances and one variance for the remaining C-k
// dimensions. A member's score of an image is its squared PCA-Mahalanobis distance
//     sum_i z_i^2 / lambda_i + |residual|^2 / lambda_res,   z = W (x - mean),
// divided by the member's threshold. The image's score is the median of these ratios over
// the members; the image is outside the domain when it exceeds 1 (domain_verdict says why the
// median). Thresholds (DomainModel::quantile q, 0.99 by default): each member's is first the
// q-quantile of its own val scores (fit_member_domain), then all are multiplied by the
// q-quantile over the val images of that median ratio (fit_models_domain), so that the
// image score exceeds 1 on a share 1 - q of the val split: the median of 19 ratios sits far
// below any one member's tail, and "median of per-member ratios > 1" alone flagged almost
// nothing (bench/README.md, "Domain check").
//
// The models folder keeps the model in <models>/domain.pt (torch.save format, a dict of
// tensors, components in float16) and records it under `domain:` in manifest.yaml
// (store/models_manifest.h). No torch in this header: fitting and the file are in
// src/domain/ (torch), scoring is a plain dot product.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/enum_names.h"
#include "gradgate/task.h"

namespace gradgate {

// What classify does with an image outside the domain (task YAML `ensemble.domain`, the CLI's
// --domain): flag it in the results only, make it abstain with the reason, or skip the check.
enum class DomainMode { Flag, Abstain, Off };
inline const EnumNames<DomainMode>& domain_mode_names() {
  static const EnumNames<DomainMode> table(
      "domain mode", {{DomainMode::Flag, "flag"}, {DomainMode::Abstain, "abstain"}, {DomainMode::Off, "off"}});
  return table;
}
inline const char* to_string(DomainMode m) { return domain_mode_names().to_string(m); }

// One member's density model of its pooled study-layer features.
struct MemberDomain {
  std::string member;                // registry name
  std::vector<float> mean;           // [C]
  std::vector<float> components;     // [k x C] row-major, unit-length principal directions
  std::vector<float> variances;      // [k] their variances (eigenvalues), > 0
  double residual_variance = 0.0;    // per dimension outside the k directions; unused when k == C
  double threshold = 0.0;            // > 0: its val quantile times the ensemble's factor (above)

  std::size_t channels() const { return mean.size(); }
  std::size_t rank() const { return variances.size(); }
  // The squared PCA-Mahalanobis distance of one pooled feature vector of `n` == channels()
  // values (std::invalid_argument otherwise). The residual is |x-mean|^2 - |z|^2, clamped at 0
  // (float16 components are orthonormal only to ~1e-3).
  double score(const float* pooled, std::size_t n) const;
  // Throws ModelError "<where>: member <m>: ..." when shapes disagree or a value is not finite
  // or not positive where it must be.
  void validate(const std::string& where) const;
};

// The film's own look, beside the members' features: the members' pooled features are what
// they learned to tell the classes apart by, and flag only 25-53% of adult films for members
// trained on children (bench/README.md, "Domain check"); the film itself differs far more. Each
// film is a side x side gray thumbnail (cv::INTER_AREA), standardised per film and scaled to
// unit length (its shape), followed by its intensity statistics (mean, std and the 5/25/50/
// 75/95th percentiles of the thumbnail, z-scored on the training films, times `weight`): the
// score is the squared distance to the k-th nearest training film. bench/domain_thumbnails.py
// chose side 24, weight 0.2, k 5 leave-one-source-out on the Kermany members.
struct ImageDomain {
  int side = 24;
  double weight = 0.2;
  int k = 5;
  std::vector<float> stats_mean, stats_std;  // [kStats]: the training films' statistics
  std::vector<float> references;             // [n x dims()] the training films' features (float16 in the file)
  double threshold = 0.0;                    // > 0: its val quantile times the ensemble's factor

  static constexpr std::size_t kStats = 7;
  std::size_t dims() const { return static_cast<std::size_t>(side) * side + kStats; }
  std::size_t rows() const { return dims() ? references.size() / dims() : 0; }
  // The film's features from its raw ones (image_look): the statistics z-scored and weighted.
  std::vector<float> features(const std::vector<float>& raw) const;
  // The squared distance of the features to the k-th nearest reference (raw: image_look's).
  double score(const std::vector<float>& raw) const;
  void validate(const std::string& where) const;
};

// A film's raw look (ImageDomain): side*side shape values, then the kStats statistics, from a
// gray image (CV_32FC1 in [0,1], as load_gray gives; CV_8UC1 is scaled by 1/255). A flat film
// has an all-zero shape.
std::vector<float> image_look(const cv::Mat& gray, int side);

struct DomainModel {
  std::vector<MemberDomain> members;
  std::optional<ImageDomain> image;  // absent in files written before it existed
  double quantile = 0.99;  // the val quantile each member's threshold sits at

  // nullptr when the model has no entry for the member.
  const MemberDomain* find(const std::string& member) const;
};

// The check's result for one image (ImageOutcome::domain, results' domain_score/out_of_domain).
struct DomainVerdict {
  bool checked = false;  // false: no domain model, or the check is off
  // The larger of member_score and image_score: the film is outside when either part says so.
  double score = std::numeric_limits<double>::quiet_NaN();
  double member_score = std::numeric_limits<double>::quiet_NaN();  // median of score/threshold
  double image_score = std::numeric_limits<double>::quiet_NaN();   // the look's score/threshold
  bool flagged = false;  // score > 1
  int members = 0;       // members the median is over
  std::string reason;    // set when flagged: "outside the training domain: score 3.4 > 1 (...)"
};

// Median of `ratios` (each member's score / its threshold) and the verdict; `quantile` only
// words the reason. Non-finite ratios are left out; none left: not checked.
// Why the median: one member with an odd feature space (a dead channel, a collapsed head)
// must not flag every image, nor one member that happens to generalise hide a film that the
// other 18 have never seen; the median needs half the members to agree, and its threshold of
// 1 needs no second calibration (each ratio is already scaled to its member's val quantile).
DomainVerdict domain_verdict(const std::vector<double>& ratios, double quantile);
// The verdict with the film's look added (ImageDomain::score / threshold): score becomes the
// larger of the two parts, and a film flagged by its look says so in the reason.
void add_image_verdict(DomainVerdict& verdict, double image_ratio, double quantile);

// ---- fitting (src/domain/fit.cpp) ----

// Pooled features of one member over a set of images, row-major [rows x cols].
struct FeatureMatrix {
  std::size_t rows = 0, cols = 0;
  std::vector<float> data;
  const float* row(std::size_t i) const { return data.data() + i * cols; }
};

struct DomainFitOptions {
  int max_components = 64;   // k = min(C, max_components); k == C: no residual term
  double quantile = 0.99;    // per-member threshold: this quantile of the val scores
  bool image = true;         // also the film's look (ImageDomain, its defaults)
};

// Fits the look: the training films' features (rows of image_look, width side*side + kStats),
// rounded to float16 as stored, and the threshold at `quantile` of the val films' scores.
ImageDomain fit_image_domain(const FeatureMatrix& train, const FeatureMatrix& val, double quantile,
                             const ImageDomain& settings = {});

// Fits one member: PCA of `train` (float64), components rounded to float16 as stored, then
// the threshold from the scores of `val` under that rounded model (its own quantile; the
// ensemble's factor is applied by fit_models_domain / loso_models_domain). Throws DatasetError when
// train has fewer than 2 rows or val none, std::invalid_argument when widths differ.
MemberDomain fit_member_domain(const std::string& member, const FeatureMatrix& train,
                               const FeatureMatrix& val, const DomainFitOptions& options = {});

// ---- the file (src/domain/domain_file.cpp) ----

// Writes the model to `file` atomically (a dict of tensors: "<member>.mean" [C] float32,
// "<member>.components" [k,C] float16, "<member>.variances" [k] float32,
// "<member>.residual_variance", "<member>.threshold" and "quantile" scalars float64).
void save_domain_model(const DomainModel& model, const std::filesystem::path& file);
// Reads and validates what save_domain_model writes. Throws ModelError naming the file on a
// missing, corrupt or inconsistent file.
DomainModel load_domain_model(const std::filesystem::path& file);

// ---- a models folder (src/domain/models_domain.cpp) ----

struct DomainFitRequest {
  std::filesystem::path models_dir;          // holds manifest.yaml and the members' weights
  std::filesystem::path data;                // data set (manifest.csv, folder tree, CSV)
  std::string task;                          // empty: the manifest's task
  // Set: this task (ensemble-train's, which may come from a task YAML file outside config/)
  // instead of loading `task` by name; its name must still be the manifest's.
  std::optional<TaskSpec> task_spec;
  std::filesystem::path config_dir;          // empty: default_config_dir()
  std::vector<std::string> exclude_sources;  // left out of fitting and calibration
  DomainFitOptions options;
  int batch = 32;                            // images per forward pass
  int threads = 0;                           // cores; 0: all
  bool progress = true;                      // progress bar on stderr
  // Take the folder's lock (output_dir.h) while fitting and writing. False only for a caller
  // that holds it already (ensemble-train, which locks its --out): flock locks of one process
  // on two descriptors exclude each other.
  bool lock_folder = true;
  // loso only: a file keeping the pooled features of every image between runs (a torch.save
  // dict), so settings (--components, --quantile) can be compared without the forward passes.
  // Reused only when it was written for the same data file, members' weights and image count.
  std::filesystem::path features_cache;
};

struct DomainFitSummary {
  std::filesystem::path file;        // <models>/domain.pt
  std::string hash;                  // its fnv1a64
  int64_t train_images = 0, val_images = 0;
  double val_flagged = 0.0;          // share of val images the fitted check flags
  double seconds = 0.0;
  std::size_t bytes = 0;             // size of domain.pt
};

// Fits the folder's domain model on the task's train split (calibrated on its val split, the
// members' thresholds and then the ensemble's factor) of
// `data` and writes <models>/domain.pt and the manifest's `domain:` block, both atomically,
// under the folder's lock (output_dir.h). The members are those of the manifest, with its
// cards (side, normalisation) and weights, so the features are the ones classify computes.
// ensemble-train calls this after training; `ensemble-domain fit` is the same call.
DomainFitSummary fit_models_domain(const DomainFitRequest& request);

// Leave-one-source-out: for every source S of the data set, the model fitted without S
// (in memory, written to and read back from a temporary folder; the models folder is never
// changed), and how many of S's images (all splits, every diagnosis) it flags against how
// many of the task's test split without S.
struct LosoRow {
  std::string source;
  bool fitted = false;        // false: no train images of the task left without S
  std::string note;           // why not fitted
  int64_t train_images = 0, val_images = 0;
  int64_t source_images = 0, source_flagged = 0;
  int64_t test_images = 0, test_flagged = 0;
  double source_median_score = std::numeric_limits<double>::quiet_NaN();
  double test_median_score = std::numeric_limits<double>::quiet_NaN();
};
struct LosoResult {
  std::string task;
  std::vector<LosoRow> rows;
  double seconds = 0.0;
};
LosoResult loso_models_domain(const DomainFitRequest& request);
// Writes <dir>/loso.csv and <dir>/loso.md (a markdown table); returns the markdown.
std::string write_loso_files(const LosoResult& result, const std::filesystem::path& dir);

}  // namespace gradgate
