// The domain check (domain.h): the density model on synthetic features with a known answer,
// domain.pt and the manifest's `domain:` block, and classify's --domain on tiny members.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include <opencv2/imgproc.hpp>

#include "domain/domain_features.h"
#include "gradgate/classify.h"
#include "gradgate/domain.h"
#include "gradgate/ensemble.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/member_card.h"
#include "gradgate/phantom.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/zoo/registry.h"
#include "gradgate/zoo/weights.h"
#include "test_util.h"

using namespace gradgate;
using gradgate::testing::contains;
using gradgate::testing::error_of;
using gradgate::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// n points of a C-dimensional Gaussian with standard deviation sd[j] along axis j, rotated by
// a fixed random orthogonal-ish mix (a Householder reflection) so the principal directions
// are not the axes, and shifted to `centre`.
FeatureMatrix gaussian_cloud(std::size_t n, const std::vector<double>& sd, double centre, uint32_t seed) {
  const std::size_t c = sd.size();
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::mt19937 fixed(7);  // the reflection is the same for every cloud
  std::vector<double> v(c);
  double norm = 0;
  for (auto& x : v) {
    x = g(fixed);
    norm += x * x;
  }
  for (auto& x : v) x /= std::sqrt(norm);
  FeatureMatrix m;
  m.rows = n;
  m.cols = c;
  m.data.resize(n * c);
  std::vector<double> p(c);
  for (std::size_t i = 0; i < n; ++i) {
    double dot = 0;
    for (std::size_t j = 0; j < c; ++j) {
      p[j] = sd[j] * g(rng);
      dot += p[j] * v[j];
    }
    for (std::size_t j = 0; j < c; ++j) m.data[i * c + j] = static_cast<float>(centre + p[j] - 2 * dot * v[j]);
  }
  return m;
}

std::vector<double> decaying_sd(std::size_t c) {
  std::vector<double> sd(c);
  for (std::size_t j = 0; j < c; ++j) sd[j] = 3.0 / (1.0 + j);  // 3, 1.5, 1, 0.75, ...
  return sd;
}

double flagged_share(const MemberDomain& d, const FeatureMatrix& m) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < m.rows; ++i) n += d.score(m.row(i), m.cols) > d.threshold ? 1 : 0;
  return static_cast<double>(n) / static_cast<double>(m.rows);
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Splits a CSV line without quoted commas (enough for the columns read here, which come
// before any free text only when the text has no comma: checked by the caller's header).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char ch : line) {
    if (ch == '"') quoted = !quoted;
    else if (ch == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else cur += ch;
  }
  out.push_back(cur);
  return out;
}

// Column `name` of every data row of results.csv.
std::vector<std::string> column(const fs::path& csv, const std::string& name) {
  const auto lines = read_lines(csv);
  const auto header = split_csv(lines.at(0));
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) return {};
  const std::size_t k = static_cast<std::size_t>(it - header.begin());
  std::vector<std::string> out;
  for (std::size_t i = 1; i < lines.size(); ++i) out.push_back(split_csv(lines[i]).at(k));
  return out;
}

// A models folder of one tiny resnet18 (random weights) for the pneumonia task, which takes
// the phantoms (they name no source).
void write_tiny_models(const fs::path& dir) {
  torch::manual_seed(5);
  const PresetSpec p = gradgate::testing::preset_of("resnet18", "tiny");
  Member net = make_member("resnet18", {2, p.width, p.input_side});
  save_state_dict(*net, (dir / "resnet18.pt").string());
  ModelsManifest mf =
      gradgate::testing::one_member_manifest("resnet18", "tiny", p.input_side, p.width, dir / "resnet18.pt");
  mf.members[0].weights_hash = weights_file_hash(mf.members[0].file);
  save_models_manifest(mf, dir);
}

// Replaces the folder's domain model by `model` and records it (as fit_models_domain would).
void install_domain(const fs::path& dir, const DomainModel& model) {
  save_domain_model(model, dir / "domain.pt");
  ModelsManifest mf = load_models_manifest(dir);
  DomainRecord r;
  r.file = dir / "domain.pt";
  r.hash = weights_file_hash(r.file);
  r.members_hash = domain_members_hash(mf);
  r.quantile = model.quantile;
  r.rule = "test";
  mf.domain = r;
  save_models_manifest(mf, dir);
}

// One member's model that flags everything (threshold ~0) or nothing (threshold huge).
DomainModel constant_verdict_model(std::size_t channels, double threshold) {
  MemberDomain d;
  d.member = "resnet18";
  d.mean.assign(channels, 0.0f);
  d.components.assign(channels, 0.0f);
  d.components[0] = 1.0f;
  d.variances = {1.0f};
  d.residual_variance = 1.0;
  d.threshold = threshold;
  DomainModel m;
  m.members.push_back(d);
  return m;
}

ClassifyRequest phantom_request(const TempDir& tmp) {
  ClassifyRequest rq;
  rq.task = "pneumonia";
  rq.models_dir = tmp / "models";
  rq.inputs = {(tmp / "data/images").string()};
  rq.out = tmp / "out";
  rq.progress = false;
  rq.overlays = false;
  rq.montage = false;
  rq.use_segmenter = false;
  rq.batch = 4;
  // The gate never abstains (random tiny members look anywhere): abstentions are the check's.
  rq.fallback = GateFallback::All;
  return rq;
}

}  // namespace

// ---- the density model: a Gaussian cloud, points far from it, the calibrated rate ----

TEST(DomainModel, InDistributionPointsFlagAtTheCalibratedRateAndFarPointsAlways) {
  const auto sd = decaying_sd(24);
  const FeatureMatrix train = gaussian_cloud(3000, sd, 1.0, 1);
  const FeatureMatrix val = gaussian_cloud(3000, sd, 1.0, 2);
  const FeatureMatrix test = gaussian_cloud(6000, sd, 1.0, 3);
  DomainFitOptions o;
  o.max_components = 6;  // 18 dimensions left to the residual term
  o.quantile = 0.95;
  const MemberDomain d = fit_member_domain("resnet18", train, val, o);
  EXPECT_EQ(d.rank(), 6u);
  EXPECT_EQ(d.channels(), 24u);
  EXPECT_GT(d.residual_variance, 0.0);
  // Same distribution: about 5% above the val 95th percentile (binomial sd ~0.3%).
  EXPECT_NEAR(flagged_share(d, test), 0.05, 0.015);
  // Far along the main direction, and far along a minor one the residual term models.
  FeatureMatrix far_main = gaussian_cloud(200, sd, 1.0, 4), far_minor = gaussian_cloud(200, sd, 1.0, 5);
  for (std::size_t i = 0; i < 200; ++i) {
    far_main.data[i * 24] += 40.0f;  // ~13 sd along axis 0 (mixed into a few directions)
    far_minor.data[i * 24 + 20] += 5.0f;  // axis 20: sd 0.14, so ~35 sd, outside the top 6
  }
  EXPECT_EQ(flagged_share(d, far_main), 1.0);
  EXPECT_EQ(flagged_share(d, far_minor), 1.0);
}

TEST(DomainModel, AShiftedCloudIsFlaggedByTheMedianOfItsMembers) {
  // Three members, each fitted on its own sample of the cloud; a shifted cloud is far for all.
  const auto sd = decaying_sd(16);
  std::vector<MemberDomain> members;
  for (uint32_t j = 0; j < 3; ++j)
    members.push_back(fit_member_domain("m" + std::to_string(j), gaussian_cloud(2000, sd, 0.0, 10 + j),
                                        gaussian_cloud(2000, sd, 0.0, 20 + j)));
  const FeatureMatrix in = gaussian_cloud(500, sd, 0.0, 30), out = gaussian_cloud(500, sd, 4.0, 31);
  int in_flagged = 0, out_flagged = 0;
  for (std::size_t i = 0; i < 500; ++i) {
    std::vector<double> r_in, r_out;
    for (const auto& m : members) {
      r_in.push_back(m.score(in.row(i), 16) / m.threshold);
      r_out.push_back(m.score(out.row(i), 16) / m.threshold);
    }
    in_flagged += domain_verdict(r_in, 0.99).flagged ? 1 : 0;
    out_flagged += domain_verdict(r_out, 0.99).flagged ? 1 : 0;
  }
  // The same points for all three: each flags ~1% (its val 99th percentile), and the median
  // needs two of them at once, so at most about 1% (5 of 500).
  EXPECT_LE(in_flagged, 15);
  EXPECT_EQ(out_flagged, 500);
}

TEST(DomainModel, VerdictIsTheMedianRatioAndSaysWhy) {
  const DomainVerdict a = domain_verdict({0.5, 3.0, 4.0}, 0.99);
  EXPECT_TRUE(a.checked);
  EXPECT_TRUE(a.flagged);
  EXPECT_DOUBLE_EQ(a.score, 3.0);
  EXPECT_EQ(a.members, 3);
  EXPECT_TRUE(contains(a.reason, "outside the training domain: score 3.00 > 1") &&
              contains(a.reason, "median over 3 members") && contains(a.reason, "1% of the validation images"))
      << a.reason;
  const DomainVerdict b = domain_verdict({0.2, 0.5, 90.0}, 0.99);  // one member alone
  EXPECT_FALSE(b.flagged);
  EXPECT_TRUE(b.reason.empty());
  const DomainVerdict c = domain_verdict({std::nan(""), 2.0, 4.0}, 0.99);
  EXPECT_EQ(c.members, 2);
  EXPECT_DOUBLE_EQ(c.score, 3.0);
  EXPECT_FALSE(domain_verdict({}, 0.99).checked);
}

TEST(DomainModel, ScoreRefusesAVectorOfAnotherWidth) {
  const auto sd = decaying_sd(8);
  const MemberDomain d = fit_member_domain("resnet18", gaussian_cloud(100, sd, 0, 1), gaussian_cloud(50, sd, 0, 2));
  std::vector<float> x(9, 0.0f);
  EXPECT_THROW(d.score(x.data(), x.size()), std::invalid_argument);
  EXPECT_THROW(fit_member_domain("resnet18", gaussian_cloud(1, sd, 0, 1), gaussian_cloud(5, sd, 0, 2)), DatasetError);
}

// ---- domain.pt ----

TEST(DomainFile, RoundTripKeepsEveryScore) {
  TempDir tmp;
  const auto sd = decaying_sd(40);
  DomainModel m;
  m.quantile = 0.99;
  m.members.push_back(fit_member_domain("resnet18", gaussian_cloud(400, sd, 1, 1), gaussian_cloud(200, sd, 1, 2)));
  m.members.push_back(fit_member_domain("googlenet-places", gaussian_cloud(400, sd, 2, 3), gaussian_cloud(200, sd, 2, 4)));
  save_domain_model(m, tmp / "domain.pt");
  const DomainModel r = load_domain_model(tmp / "domain.pt");
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_DOUBLE_EQ(r.quantile, 0.99);
  const FeatureMatrix probe = gaussian_cloud(50, sd, 1.5, 9);
  for (std::size_t j = 0; j < 2; ++j) {
    const MemberDomain* loaded = r.find(m.members[j].member);
    ASSERT_NE(loaded, nullptr) << m.members[j].member;
    EXPECT_EQ(loaded->components, m.members[j].components);  // already float16-exact when fitted
    EXPECT_EQ(loaded->mean, m.members[j].mean);
    EXPECT_DOUBLE_EQ(loaded->threshold, m.members[j].threshold);
    for (std::size_t i = 0; i < probe.rows; ++i)
      EXPECT_DOUBLE_EQ(loaded->score(probe.row(i), 40), m.members[j].score(probe.row(i), 40));
  }
  // float16 directions: smaller than the float32 they would take.
  EXPECT_LT(fs::file_size(tmp / "domain.pt"), 2u * 40 * 40 * 4);
}

TEST(DomainFile, ACorruptTruncatedOrMissingFileIsAModelErrorNamingIt) {
  TempDir tmp;
  { std::ofstream(tmp / "garbage.pt") << "this is not a torch.save file"; }
  EXPECT_THROW(load_domain_model(tmp / "garbage.pt"), ModelError);
  EXPECT_TRUE(contains(error_of([&] { load_domain_model(tmp / "garbage.pt"); }), (tmp / "garbage.pt").string()));

  const auto sd = decaying_sd(8);
  DomainModel m;
  m.members.push_back(fit_member_domain("resnet18", gaussian_cloud(100, sd, 0, 1), gaussian_cloud(50, sd, 0, 2)));
  save_domain_model(m, tmp / "domain.pt");
  const auto size = fs::file_size(tmp / "domain.pt");
  fs::resize_file(tmp / "domain.pt", size / 2);
  EXPECT_THROW(load_domain_model(tmp / "domain.pt"), ModelError);
  EXPECT_TRUE(contains(error_of([&] { load_domain_model(tmp / "domain.pt"); }), (tmp / "domain.pt").string()));

  // A well-formed torch.save dict that is not a domain model.
  torch::nn::Linear lin(3, 2);
  save_state_dict(*lin, (tmp / "weights.pt").string());
  const std::string e = error_of([&] { load_domain_model(tmp / "weights.pt"); });
  EXPECT_TRUE(contains(e, (tmp / "weights.pt").string()) && contains(e, "quantile")) << e;

  EXPECT_TRUE(contains(error_of([&] { load_domain_model(tmp / "absent.pt"); }), (tmp / "absent.pt").string()));
}

// ---- the manifest's domain block ----

TEST(DomainManifest, AManifestWithoutTheBlockLoadsAndTheBlockRoundTrips) {
  TempDir tmp;
  ModelsManifest mf = gradgate::testing::one_member_manifest("resnet18", "tiny", 64, 0.125, tmp / "resnet18.pt");
  mf.members[0].weights_hash = "fnv1a64:0123456789abcdef";
  save_models_manifest(mf, tmp.path());
  EXPECT_EQ(read_text(tmp / "manifest.yaml").find("domain"), std::string::npos);
  const ModelsManifest plain = load_models_manifest(tmp.path(), WeightFiles::may_be_missing);
  EXPECT_FALSE(plain.domain.has_value());

  DomainRecord r;
  r.file = tmp / "domain.pt";
  r.hash = "fnv1a64:00000000000000aa";
  r.members_hash = domain_members_hash(mf);
  r.data_path = "../shared/data/cxr/manifest.csv";
  r.excluded_sources = {"cohen", "jsrt"};
  r.train_images = 4065;
  r.val_images = 885;
  r.components = 64;
  r.quantile = 0.99;
  r.rule = "median";
  r.val_flagged = 0.012;
  mf.domain = r;
  save_models_manifest(mf, tmp.path());
  const ModelsManifest back = load_models_manifest(tmp.path(), WeightFiles::may_be_missing);
  ASSERT_TRUE(back.domain.has_value());
  EXPECT_EQ(back.domain->file, tmp / "domain.pt");
  EXPECT_TRUE(contains(read_text(tmp / "manifest.yaml"), "file: domain.pt"));  // relative in the file
  EXPECT_EQ(back.domain->hash, r.hash);
  EXPECT_EQ(back.domain->members_hash, r.members_hash);
  EXPECT_EQ(back.domain->excluded_sources, r.excluded_sources);
  EXPECT_EQ(back.domain->train_images, 4065);
  EXPECT_DOUBLE_EQ(back.domain->quantile, 0.99);
  ASSERT_TRUE(back.domain->val_flagged.has_value());
  EXPECT_NEAR(*back.domain->val_flagged, 0.012, 1e-9);
  // The members' hash follows their weights.
  mf.members[0].weights_hash = "fnv1a64:fedcba9876543210";
  EXPECT_NE(domain_members_hash(mf), r.members_hash);
}

// ---- fitting a models folder, and classify with it ----

TEST(DomainClassify, FitWritesTheModelAndItsRecordAndClassifyScoresEveryImage) {
  TempDir tmp;
  write_tiny_models(tmp / "models");
  // 16 per class: indices 14-15 of each class are the val split (phantom.h's pattern).
  const fs::path data = write_phantom_dataset(tmp / "data", 16, 96, 3);
  DomainFitRequest fr;
  fr.models_dir = tmp / "models";
  fr.data = data;
  fr.options.max_components = 4;
  fr.progress = false;
  const DomainFitSummary s = fit_models_domain(fr);
  EXPECT_TRUE(fs::exists(tmp / "models/domain.pt"));
  EXPECT_GT(s.train_images, 0);
  EXPECT_GT(s.val_images, 0);
  const ModelsManifest mf = load_models_manifest(tmp / "models");
  ASSERT_TRUE(mf.domain.has_value());
  EXPECT_EQ(mf.domain->hash, weights_file_hash(tmp / "models/domain.pt"));
  EXPECT_EQ(mf.domain->train_images, s.train_images);
  EXPECT_EQ(load_domain_model(tmp / "models/domain.pt").members.size(), 1u);

  ClassifyRequest rq = phantom_request(tmp);
  run_classify(rq);
  const auto scores = column(rq.out / "results.csv", "domain_score");
  const auto flags = column(rq.out / "results.csv", "out_of_domain");
  ASSERT_EQ(scores.size(), 64u);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    EXPECT_FALSE(scores[i].empty()) << i;
    EXPECT_TRUE(flags[i] == "true" || flags[i] == "false") << flags[i];
  }
  EXPECT_TRUE(contains(read_text(rq.out / "run.json"), "\"mode\": \"flag\""));

  // Weights changed since the fit: the record no longer matches and classify says so.
  ModelsManifest changed = load_models_manifest(tmp / "models");
  changed.domain->members_hash = "fnv1a64:0000000000000000";
  save_models_manifest(changed, tmp / "models");
  const std::string e = error_of([&] { run_classify(rq); });
  EXPECT_TRUE(contains(e, "domain.pt") && contains(e, "other member weights")) << e;
  rq.domain = DomainMode::Off;  // the way out it names
  EXPECT_NO_THROW(run_classify(rq));
}

TEST(DomainClassify, AbstainMakesAFlaggedImageAbstainWithTheReasonAndFlagOnlyMarksIt) {
  TempDir tmp;
  write_tiny_models(tmp / "models");
  write_phantom_dataset(tmp / "data", 1, 96, 3);  // 4 images
  // The member's feature width, from the ensemble itself.
  const ModelsManifest mf = load_models_manifest(tmp / "models");
  EnsembleOptions eo;
  eo.classes = mf.classes;
  eo.members.push_back({card_from_manifest(mf.members[0]), mf.members[0].file, mf.members[0].weights_hash});
  Ensemble ens(eo);
  const auto pooled = ens.pooled_features({cv::Mat(96, 96, CV_32FC1, cv::Scalar(0.5))});
  ASSERT_EQ(pooled.size(), 1u);
  const std::size_t channels = pooled[0].cols;
  ASSERT_GT(channels, 1u);

  install_domain(tmp / "models", constant_verdict_model(channels, 1e-12));  // every image is "far"
  ClassifyRequest rq = phantom_request(tmp);
  rq.domain = DomainMode::Abstain;
  const ClassifySummary s = run_classify(rq);
  EXPECT_EQ(s.abstained, 4);
  for (const auto& v : column(rq.out / "results.csv", "abstained")) EXPECT_EQ(v, "true");
  for (const auto& v : column(rq.out / "results.csv", "out_of_domain")) EXPECT_EQ(v, "true");
  for (const auto& v : column(rq.out / "results.csv", "label")) EXPECT_EQ(v, "");
  const std::string jsonl = read_text(rq.out / "results.jsonl");
  EXPECT_TRUE(contains(jsonl, "outside the training domain: score")) << jsonl.substr(0, 400);
  EXPECT_TRUE(contains(read_text(rq.out / "run.json"), "\"mode\": \"abstain\""));

  rq.domain = DomainMode::Flag;  // marked, but the vote stands
  const ClassifySummary f = run_classify(rq);
  EXPECT_EQ(f.abstained, 0);
  for (const auto& v : column(rq.out / "results.csv", "out_of_domain")) EXPECT_EQ(v, "true");
  for (const auto& v : column(rq.out / "results.csv", "label")) EXPECT_NE(v, "");

  install_domain(tmp / "models", constant_verdict_model(channels, 1e12));  // nothing is far
  rq.domain = DomainMode::Abstain;
  EXPECT_EQ(run_classify(rq).abstained, 0);
  for (const auto& v : column(rq.out / "results.csv", "out_of_domain")) EXPECT_EQ(v, "false");
}

TEST(DomainClassify, AFolderWithoutADomainModelLeavesTheColumnsEmptyWithANote) {
  TempDir tmp;
  write_tiny_models(tmp / "models");
  write_phantom_dataset(tmp / "data", 1, 96, 3);
  ClassifyRequest rq = phantom_request(tmp);
  run_classify(rq);
  for (const auto& v : column(rq.out / "results.csv", "domain_score")) EXPECT_EQ(v, "");
  for (const auto& v : column(rq.out / "results.csv", "out_of_domain")) EXPECT_EQ(v, "");
  EXPECT_EQ(column(rq.out / "results.csv", "out_of_domain").size(), 4u);
  EXPECT_TRUE(contains(read_text(rq.out / "run.json"), "has no domain model")) << read_text(rq.out / "run.json");

  // A recorded but corrupt domain.pt: a ModelError naming the file.
  install_domain(tmp / "models", constant_verdict_model(8, 1.0));
  {
    std::ofstream(tmp / "models/domain.pt", std::ios::trunc) << "garbage";
  }
  ModelsManifest mf = load_models_manifest(tmp / "models");
  mf.domain->hash = weights_file_hash(tmp / "models/domain.pt");  // the hash is right, the content is not
  save_models_manifest(mf, tmp / "models");
  EXPECT_THROW(run_classify(rq), ModelError);
  EXPECT_TRUE(contains(error_of([&] { run_classify(rq); }), (tmp / "models/domain.pt").string()));
}

// ---- the film's look (ImageDomain) ----

namespace {

// A synthetic "film": a bright ellipse (the body) on a dark field, its centre, size and
// brightness drawn at random; `kind` 1 turns it into another population: the ellipse is
// a small, low-contrast blob at the top (no film the references resemble).
cv::Mat synthetic_film(std::mt19937& rng, int kind) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  cv::Mat g(96, 96, CV_32FC1, cv::Scalar(0.1 + 0.05 * u(rng)));
  if (kind == 0)
    cv::ellipse(g, cv::Point(44 + static_cast<int>(8 * u(rng)), 50 + static_cast<int>(6 * u(rng))),
                cv::Size(28 + static_cast<int>(6 * u(rng)), 36 + static_cast<int>(6 * u(rng))), 0, 0, 360,
                cv::Scalar(0.6 + 0.2 * u(rng)), -1);
  else
    cv::ellipse(g, cv::Point(48, 16), cv::Size(12, 8), 0, 0, 360, cv::Scalar(0.25 + 0.05 * u(rng)), -1);
  cv::Mat noise(g.size(), CV_32FC1);
  cv::randn(noise, 0.0, 0.02);
  return g + noise;
}

FeatureMatrix looks(std::mt19937& rng, int kind, std::size_t n) {
  FeatureMatrix m;
  m.cols = ImageDomain{}.dims();
  for (std::size_t i = 0; i < n; ++i) {
    const auto f = image_look(synthetic_film(rng, kind), ImageDomain{}.side);
    m.data.insert(m.data.end(), f.begin(), f.end());
    ++m.rows;
  }
  return m;
}

double look_flagged(const ImageDomain& d, const FeatureMatrix& m) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < m.rows; ++i)
    n += d.score(std::vector<float>(m.row(i), m.row(i) + m.cols)) > d.threshold ? 1 : 0;
  return static_cast<double>(n) / static_cast<double>(m.rows);
}

}  // namespace

TEST(DomainImageLook, AFilmsLookIsItsUnitShapeAndItsStatistics) {
  cv::Mat ramp(40, 40, CV_32FC1);
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 40; ++x) ramp.at<float>(y, x) = x / 39.0f;
  const auto f = image_look(ramp, 24);
  ASSERT_EQ(f.size(), 24u * 24u + ImageDomain::kStats);
  double norm = 0;
  for (std::size_t i = 0; i < 24u * 24u; ++i) norm += f[i] * f[i];
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_NEAR(f[24 * 24], 0.5, 0.01);      // mean
  EXPECT_LT(f[24 * 24 + 2], f[24 * 24 + 6]);  // 5th percentile below the 95th
  // 8-bit input is the same film scaled by 1/255.
  cv::Mat ramp8;
  ramp.convertTo(ramp8, CV_8U, 255.0);
  const auto f8 = image_look(ramp8, 24);
  for (std::size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(f8[i], f[i], 0.01) << i;
  // A flat film has no shape, and its deviation is 0.
  const auto flat = image_look(cv::Mat(30, 50, CV_32FC1, cv::Scalar(0.4)), 24);
  for (std::size_t i = 0; i < 24u * 24u; ++i) ASSERT_EQ(flat[i], 0.0f);
  EXPECT_NEAR(flat[24 * 24 + 1], 0.0, 1e-6);
  EXPECT_THROW(image_look(cv::Mat(), 24), std::invalid_argument);
  EXPECT_THROW(image_look(cv::Mat(8, 8, CV_8UC3), 24), std::invalid_argument);
}

TEST(DomainImageLook, OwnFilmsFlagAtTheCalibratedRateAndAnotherPopulationAlways) {
  std::mt19937 rng(5);
  const FeatureMatrix train = looks(rng, 0, 300), val = looks(rng, 0, 200), test = looks(rng, 0, 200),
                      other = looks(rng, 1, 60);
  const ImageDomain d = fit_image_domain(train, val, 0.9);
  EXPECT_NO_THROW(d.validate("test"));
  EXPECT_EQ(d.rows(), 300u);
  EXPECT_NEAR(look_flagged(d, val), 0.1, 0.011);  // the calibration itself
  EXPECT_LT(look_flagged(d, test), 0.25);         // new films of the same population
  EXPECT_DOUBLE_EQ(look_flagged(d, other), 1.0);  // another population, every film
  // The references are float16-exact, as domain.pt stores them.
  cv::Mat refs(1, static_cast<int>(d.references.size()), CV_32FC1, const_cast<float*>(d.references.data())), h, back;
  refs.convertTo(h, CV_16F);
  h.convertTo(back, CV_32F);
  EXPECT_EQ(cv::norm(refs, back, cv::NORM_INF), 0.0);
  EXPECT_THROW(fit_image_domain(looks(rng, 0, 1), val, 0.9), DatasetError);
}

TEST(DomainImageLook, TheLookRoundTripsThroughDomainPtAndJoinsTheVerdict) {
  TempDir tmp;
  std::mt19937 rng(9);
  const auto sd = decaying_sd(8);
  DomainModel m;
  m.quantile = 0.95;
  m.members.push_back(fit_member_domain("resnet18", gaussian_cloud(100, sd, 0, 1), gaussian_cloud(50, sd, 0, 2)));
  m.image = fit_image_domain(looks(rng, 0, 120), looks(rng, 0, 60), 0.95);
  save_domain_model(m, tmp / "domain.pt");
  const DomainModel r = load_domain_model(tmp / "domain.pt");
  ASSERT_TRUE(r.image.has_value());
  EXPECT_EQ(r.image->references, m.image->references);
  EXPECT_EQ(r.image->stats_mean, m.image->stats_mean);
  EXPECT_DOUBLE_EQ(r.image->threshold, m.image->threshold);
  EXPECT_EQ(r.image->k, m.image->k);
  const auto probe = image_look(synthetic_film(rng, 1), r.image->side);
  EXPECT_DOUBLE_EQ(r.image->score(probe), m.image->score(probe));
  // A file without the look (written before it existed, or --members-only) has none.
  DomainModel bare = m;
  bare.image.reset();
  save_domain_model(bare, tmp / "bare.pt");
  EXPECT_FALSE(load_domain_model(tmp / "bare.pt").image.has_value());

  // The verdict: the larger part decides, and a film flagged by its look says so.
  DomainVerdict v = domain_verdict({0.5, 0.6, 0.7}, 0.95);
  add_image_verdict(v, 2.5, 0.95);
  EXPECT_TRUE(v.flagged);
  EXPECT_DOUBLE_EQ(v.score, 2.5);
  EXPECT_DOUBLE_EQ(v.member_score, 0.6);
  EXPECT_TRUE(contains(v.reason, "the film's look scores 2.50 > 1")) << v.reason;
  DomainVerdict w = domain_verdict({3.0, 4.0, 5.0}, 0.95);
  add_image_verdict(w, 0.4, 0.95);
  EXPECT_DOUBLE_EQ(w.score, 4.0);
  EXPECT_DOUBLE_EQ(w.image_score, 0.4);
  EXPECT_TRUE(contains(w.reason, "median over 3 members")) << w.reason;
  DomainVerdict x = domain_verdict({0.2, 0.3, 0.4}, 0.95);
  add_image_verdict(x, 0.9, 0.95);
  EXPECT_FALSE(x.flagged);
  EXPECT_TRUE(x.reason.empty());
}

// fit_domain fits the look when the look matrix follows the members' and there are at least k
// training films; with fewer it keeps the members' part alone (which needs only 2), and the
// larger of the two ratios then exceeds 1 on about (1 - q) of val.
TEST(DomainImageLook, FitDomainAddsTheLookOnlyWithEnoughTrainingFilms) {
  std::mt19937 rng(21);
  const auto sd = decaying_sd(8);
  const std::vector<std::string> members = {"resnet18"};
  const auto fit = [&](std::size_t n_train) {
    std::vector<FeatureMatrix> train = {gaussian_cloud(n_train, sd, 0, 1), looks(rng, 0, n_train)};
    std::vector<FeatureMatrix> val = {gaussian_cloud(100, sd, 0, 2), looks(rng, 0, 100)};
    DomainFitOptions o;
    o.quantile = 0.9;
    return std::make_pair(domain_detail::fit_domain(members, train, val, o), val);
  };
  EXPECT_FALSE(fit(3).first.image.has_value());
  const auto [model, val] = fit(60);
  ASSERT_TRUE(model.image.has_value());
  std::vector<std::size_t> all(val[0].rows);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto v = domain_detail::verdicts(model, members, val, all);
  std::size_t flagged = 0;
  for (const auto& x : v) {
    flagged += x.flagged;
    EXPECT_TRUE(std::isfinite(x.image_score) && std::isfinite(x.member_score));
    EXPECT_DOUBLE_EQ(x.score, std::max(x.image_score, x.member_score));
  }
  EXPECT_NEAR(static_cast<double>(flagged) / v.size(), 0.1, 0.011);
}
