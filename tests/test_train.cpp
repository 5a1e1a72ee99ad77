// ensemble-train: metrics, training on phantoms (tiny preset), the models manifest,
// resuming a killed run, bad input, determinism, the torchvision import, and the optimiser
// and step (make_optimizer, train_step) that member training and bench/train-speed share.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/member_card.h"
#include "gradgate/preprocess.h"
#include "gradgate/common/fnv1a.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/phantom.h"
#include "gradgate/train.h"
#include "gradgate/train_step.h"
#include "gradgate/zoo/registry.h"
#include "gradgate/zoo/weights.h"
#include "test_util.h"
#include "train/compat.h"
#include "train/train_data.h"

using namespace gradgate;
using gradgate::testing::slurp;
using gradgate::testing::TempDir;
using gradgate::testing::contains;
using gradgate::testing::error_of;
using gradgate::testing::write_phantom_task;
namespace fs = std::filesystem;

namespace {


// One small phantom set shared by the tests of this file (written once per process).
const fs::path& phantoms() {
  static const fs::path dir = gradgate::testing::shared_phantoms("train-phantoms-64x40", 40, 64, 7);
  return dir;
}

TrainOptions quick(int epochs) {
  TrainOptions o;
  o.members = {"darknet19"};
  o.preset = "tiny";
  o.epochs = epochs;
  o.batch = 8;
  o.lr = 3e-3;
  o.warmup_epochs = 0;
  o.threads = 1;  // see ensemble_train.cpp: spinning OpenMP threads on a busy machine
  o.progress = false;
  return o;
}

std::vector<torch::Tensor> weights_of(const fs::path& file, int64_t classes) {
  MemberOptions mo;
  mo.num_classes = classes;
  mo.width = 0.125;
  mo.input_side = 64;
  Member m = make_member("darknet19", mo);
  train_detail::load_weights(*m, file, false);
  std::vector<torch::Tensor> v = m->parameters();
  for (auto& b : m->buffers()) v.push_back(b);
  return v;
}

}  // namespace

TEST(TrainMetrics, AucAccuracyRecall) {
  // Scores 0.1 0.4 0.35 0.8 for labels 0 0 1 1: 3 of 4 positive/negative pairs ordered.
  EXPECT_DOUBLE_EQ(roc_auc({0.1f, 0.4f, 0.35f, 0.8f}, {false, false, true, true}), 0.75);
  EXPECT_DOUBLE_EQ(roc_auc({0.5f, 0.5f}, {false, true}), 0.5);  // a tie counts half
  EXPECT_TRUE(std::isnan(roc_auc({0.1f, 0.2f}, {true, true})));
  const std::vector<float> p = {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f};  // preds 0, 1, 0
  const auto m = compute_metrics(p, {0, 1, 1}, 2);
  EXPECT_NEAR(m.accuracy, 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.recall[0], 1.0);
  EXPECT_DOUBLE_EQ(m.recall[1], 0.5);
  EXPECT_DOUBLE_EQ(m.auc, 1.0);  // class-1 scores 0.8, 0.4 above the negative's 0.1
  EXPECT_NEAR(m.loss, -(std::log(0.9) + std::log(0.8) + std::log(0.4)) / 3, 1e-6);
  // Three classes: one-vs-rest macro, a perfect ranking gives 1.
  const auto m3 = compute_metrics({0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f, 0.1f, 0.1f, 0.8f}, {0, 1, 2}, 3);
  EXPECT_DOUBLE_EQ(m3.auc, 1.0);
  EXPECT_DOUBLE_EQ(m3.accuracy, 1.0);
}

TEST(TrainStep, OptimiserFromOptionsAndOneWeightedStep) {
  // make_optimizer: ensemble-train's settings reach the optimiser; an unknown name is refused.
  TrainOptions o;
  o.lr = 2e-3;
  o.weight_decay = 3e-4;
  auto lin = torch::nn::Linear(3, 2);
  auto adamw = make_optimizer(lin->parameters(), o);
  auto* a = dynamic_cast<torch::optim::AdamW*>(adamw.get());
  ASSERT_NE(a, nullptr);
  const auto& ao = static_cast<const torch::optim::AdamWOptions&>(a->defaults());
  EXPECT_DOUBLE_EQ(ao.lr(), 2e-3);
  EXPECT_DOUBLE_EQ(ao.weight_decay(), 3e-4);
  o.optimizer = "sgd";
  auto sgd_owner = make_optimizer(lin->parameters(), o);
  auto* sgd = dynamic_cast<torch::optim::SGD*>(sgd_owner.get());
  ASSERT_NE(sgd, nullptr);
  EXPECT_TRUE(static_cast<const torch::optim::SGDOptions&>(sgd->defaults()).nesterov());
  o.optimizer = "adam";
  EXPECT_THROW(make_optimizer(lin->parameters(), o), ConfigError);

  // train_step: returns the class-weighted loss of the batch before the update, and updates.
  torch::manual_seed(0);
  MemberOptions mo;
  mo.num_classes = 2;
  mo.width = 0.125;
  mo.input_side = 64;
  Member m = make_member("squeezenet", mo);
  m->eval();  // no dropout: the loss before the step is reproducible
  const auto x = torch::randn({4, 3, 64, 64});
  const auto y = torch::tensor({0, 1, 1, 1}, torch::kInt64);
  const auto w = torch::tensor({3.0f, 1.0f});
  double expected;
  {
    torch::NoGradGuard no_grad;
    expected = torch::nn::functional::cross_entropy(
                   m->forward(x), y, torch::nn::functional::CrossEntropyFuncOptions().weight(w))
                   .item<double>();
  }
  const auto before = m->parameters()[0].detach().clone();
  auto opt = make_optimizer(m->parameters(), TrainOptions{});
  EXPECT_NEAR(train_step(m, *opt, x, y, w), expected, 1e-5);
  EXPECT_FALSE(torch::equal(before, m->parameters()[0]));
}

TEST(Train, LearnsPhantomsAndWritesManifest) {
  TempDir tmp;
  const TaskSpec task = resolve_task(write_phantom_task(tmp.path()).string());
  auto o = quick(8);
  const auto s = train_ensemble(task, phantoms() / "manifest.csv", o, tmp / "models");
  ASSERT_EQ(s.members.size(), 1u);
  const auto& m = s.members[0];
  ASSERT_EQ(m.train_loss.size(), 8u);
  EXPECT_LT(m.train_loss.back(), m.train_loss.front()) << "training loss did not decrease";
  // Chance is 0.5 (2 classes, 6 of each diagnosis in val: 6 normal vs 18 pneumonia).
  EXPECT_GT(m.val.accuracy, 0.75) << "validation accuracy not clearly above chance";
  EXPECT_GT(m.test.auc, 0.75);
  EXPECT_GT(m.images_per_second, 0.0);

  const ModelsManifest mm = load_models_manifest(tmp / "models");
  EXPECT_EQ(mm.task, "phantom-pneumonia");
  EXPECT_EQ(mm.classes, (std::vector<std::string>{"normal", "pneumonia"}));
  ASSERT_EQ(mm.members.size(), 1u);
  const auto& e = mm.members[0];
  EXPECT_EQ(e.name, "darknet19");
  EXPECT_EQ(e.preset, "tiny");
  EXPECT_EQ(e.input_side, 64);
  EXPECT_DOUBLE_EQ(e.width, 0.125);
  EXPECT_EQ(e.epochs, 8);
  EXPECT_EQ(e.best_epoch, m.best_epoch);
  EXPECT_TRUE(fs::exists(e.file));
  EXPECT_NEAR(*e.test_accuracy, m.test.accuracy, 1e-5);
  EXPECT_NEAR(*mm.ensemble_test_accuracy, s.ensemble_test.accuracy, 1e-5);
  EXPECT_EQ(mm.data_hash, fnv1a64_label(fnv1a64_file(phantoms() / "manifest.csv", kGradgateFnvBasis)));
  EXPECT_EQ(mm.seed, 1u);
  EXPECT_FLOAT_EQ(e.normalization.std[2], 0.225f);
  EXPECT_FALSE(weights_of(e.file, 2).empty());
}

// One network-input contract: an image fed through training (Feeder, augmentation off) is
// the tensor inference makes of it (preprocess with the member's card), bit for bit, for an
// image that shrinks on both axes and for one that enlarges an axis; from disk and from the
// feeder's cache alike.
TEST(TrainInput, FeederWithoutAugmentationEqualsInferencePreprocess) {
  TempDir tmp;
  std::vector<train_detail::Item> items;
  std::vector<cv::Mat> grays;
  for (const cv::Size size : {cv::Size(300, 200), cv::Size(300, 100), cv::Size(90, 70)}) {
    cv::Mat img(size, CV_16UC1);
    cv::randu(img, 0, 65535);
    cv::GaussianBlur(img, img, cv::Size(5, 5), 0);  // some structure for the resize to see
    const fs::path file = tmp / ("img" + std::to_string(size.width) + "x" + std::to_string(size.height) + ".png");
    ASSERT_TRUE(cv::imwrite(file.string(), img));
    items.push_back({file, 0});
    grays.push_back(load_gray(file));
  }
  MemberCard card;
  card.member = "resnet18";
  card.input_side = 128;
  card.normalization.mean = {0.3f, 0.4f, 0.5f};  // not the default: a feeder ignoring it fails
  card.normalization.std = {0.2f, 0.25f, 0.3f};
  train_detail::Feeder feeder(items, card.input_side, card.normalization, int64_t{64} << 20);
  train_detail::AugmentSpec off;
  off.enabled = false;
  const std::vector<std::size_t> idx = {0, 1, 2};
  const torch::Tensor from_disk = feeder.batch(idx, &off, 7, false);
  ASSERT_GT(feeder.cached_bytes(), 0);
  const torch::Tensor from_cache = feeder.batch(idx, nullptr, 0, true);
  const torch::Tensor inference = preprocess_batch(grays, card);
  EXPECT_TRUE(torch::equal(from_disk, inference));
  EXPECT_TRUE(torch::equal(from_cache, inference));
  for (std::size_t i = 0; i < grays.size(); ++i)
    EXPECT_TRUE(torch::equal(from_disk[static_cast<int64_t>(i)], preprocess(grays[i], card))) << i;
  // Augmentation on changes the tensor (the comparison above can fail).
  train_detail::AugmentSpec on;
  EXPECT_FALSE(torch::equal(feeder.batch(idx, &on, 7, false), inference));
}

// A trained member's card is its manifest entry's: side, width and normalisation as
// recorded, Grad-CAM layer from the registry.
TEST(TrainInput, CardFromManifestEntryCarriesItsNormalisation) {
  ModelEntry e;
  e.name = "densenet201";
  e.preset = "compact";
  e.input_side = 144;
  e.width = 0.5;
  e.normalization.mean = {0.1f, 0.2f, 0.3f};
  e.normalization.std = {0.4f, 0.5f, 0.6f};
  const MemberCard c = card_from_manifest(e);
  EXPECT_EQ(c.member, "densenet201");
  EXPECT_EQ(c.preset, "compact");
  EXPECT_EQ(c.input_side, 144);
  EXPECT_DOUBLE_EQ(c.width, 0.5);
  EXPECT_EQ(c.normalization, e.normalization);
  EXPECT_NE(c.normalization, Normalization{});
  EXPECT_EQ(c.feature_layer, "features.norm5");
  e.name = "resnet9000";
  EXPECT_THROW(card_from_manifest(e), ModelError);
}

// An untrained member's card comes from networks.yaml's preset and normalisation.
TEST(TrainInput, CardFromNetworksIsThePreset) {
  const MemberCard c = train_detail::member_card("inceptionv3", "compact");
  EXPECT_EQ(c.input_side, 160);
  EXPECT_DOUBLE_EQ(c.width, 0.25);
  EXPECT_EQ(c.normalization, Normalization{});
  EXPECT_EQ(c.feature_layer, "Mixed_7c");
  EXPECT_THROW(train_detail::member_card("inceptionv3", "huge"), ConfigError);
}

TEST(Train, ManifestErrorsNameFileAndKey) {
  TempDir tmp;
  std::ofstream(tmp / "w.pt") << "x";
  auto write = [&](const std::string& text) { std::ofstream(tmp / "manifest.yaml") << text; };
  const std::string head = "format: gradgate-models/1\ntask: t\nclasses: [a, b]\n";
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    write(text);
    try {
      load_models_manifest(tmp.path());
      ADD_FAILURE() << "no error for:\n" << text;
    } catch (const ConfigError& err) {
      const std::string what = err.what();
      EXPECT_NE(what.find("manifest.yaml"), std::string::npos) << what;
      EXPECT_NE(what.find(needle), std::string::npos) << what;
    }
  };
  expect_error(head + "members:\n  - {name: resnet18, preset: tiny, input_side: x, width: 1, file: w.pt}\n",
               "members[0].input_side");
  expect_error(head + "members:\n  - {name: nonet, preset: tiny, input_side: 64, width: 1, file: w.pt}\n",
               "members[0].name");
  expect_error(head + "members:\n  - {name: resnet18, preset: tiny, input_side: 64, width: 1, file: no.pt}\n",
               "no.pt");
  expect_error(head + "colour: red\nmembers: []\n", "colour");
  expect_error("task: t\nclasses: [a, b]\nmembers: []\n", "format");
  write(head + "members:\n  - {name: resnet18, preset: tiny, input_side: 64, width: 1, file: w.pt}\n");
  EXPECT_EQ(load_models_manifest(tmp.path()).members.at(0).file, fs::absolute(tmp / "w.pt"));
}

TEST(Train, SameSeedSameWeights) {
  TempDir tmp;
  const TaskSpec task = resolve_task(write_phantom_task(tmp.path()).string());
  auto o = quick(1);
  o.max_train_batches = 3;
  train_ensemble(task, phantoms(), o, tmp / "a");
  train_ensemble(task, phantoms(), o, tmp / "b");
  const auto a = weights_of(tmp / "a" / "darknet19.pt", 2), b = weights_of(tmp / "b" / "darknet19.pt", 2);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(torch::equal(a[i], b[i])) << "tensor " << i;
  o.seed = 2;
  train_ensemble(task, phantoms(), o, tmp / "c");
  const auto c = weights_of(tmp / "c" / "darknet19.pt", 2);
  bool differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) differs = differs || !torch::equal(a[i], c[i]);
  EXPECT_TRUE(differs) << "another seed gave the same weights";
}

TEST(Train, BadInputStopsBeforeTraining) {
  TempDir tmp;
  const TaskSpec task = resolve_task(write_phantom_task(tmp.path()).string());
  const std::string manifest = slurp(phantoms() / "manifest.csv");
  auto expect_error = [&](const std::string& csv, const std::vector<std::string>& needles) {
    const fs::path file = phantoms() / "bad-manifest.csv";  // images are relative to this folder
    std::ofstream(file) << csv;
    try {
      train_ensemble(task, file, quick(1), tmp / "out");
      ADD_FAILURE() << "no error";
    } catch (const DatasetError& e) {
      for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
    }
    fs::remove(file);
    EXPECT_FALSE(fs::exists(tmp / "out" / "checkpoints" / "darknet19.ckpt")) << "training started";
  };
  // Missing files: listed (up to 10).
  std::string missing = manifest;
  for (int i = 0; i < 12; ++i)
    missing += "images/gone-" + std::to_string(i) + ".png,,p,phantom,x,normal,PA,train,CC0,x\n";
  expect_error(missing, {"12 image files missing", "gone-0.png", "gone-9.png", "..."});
  // A class without images in a split: drop every normal test row.
  std::stringstream in(manifest);
  std::string line, no_normal_test;
  while (std::getline(in, line))
    if (!(line.find(",normal,") != std::string::npos && line.find(",test,") != std::string::npos))
      no_normal_test += line + "\n";
  expect_error(no_normal_test, {"class 'normal' has no images in the test split"});
}

#if __has_include("gradgate/dataset.h")
TEST(Train, UnknownLabelsInPlainCsv) {
  TempDir tmp;
  const TaskSpec task = resolve_task(write_phantom_task(tmp.path()).string());
  std::ofstream(tmp / "data.csv") << "path,label\n" << (phantoms() / "images/normal-0.png").string()
                                  << ",normal\n" << (phantoms() / "images/covid-0.png").string()
                                  << ",fungal\n";
  try {
    train_ensemble(task, tmp / "data.csv", quick(1), tmp / "out");
    ADD_FAILURE() << "no error";
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("'fungal'"), std::string::npos) << e.what();
  }
}
#endif

// Kills the command-line tool mid-training with SIGKILL and runs the same command again:
// it must continue from the last checkpoint and finish with the full epoch count.
TEST(Train, ResumesAfterKill) {
  TempDir tmp;
  const fs::path tool = fs::path(GRADGATE_TEST_WORK_DIR).parent_path() / "bin" / "ensemble-train";
  if (!fs::exists(tool)) GTEST_SKIP() << tool << " not built";
  const fs::path task = write_phantom_task(tmp.path()), out = tmp / "models", log = tmp / "log.txt";
  const std::vector<std::string> args = {tool.string(), "--task", task.string(), "--data",
                                         phantoms().string(), "--out", out.string(), "--preset",
                                         "tiny", "--members", "darknet19", "--epochs", "5",
                                         "--batch", "8", "--threads", "1", "--patience", "10"};
  auto spawn = [&]() {
    pid_t pid = fork();
    if (pid == 0) {
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      (void)f;
      std::freopen("/dev/null", "w", stdout);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  };
  const fs::path ckpt = out / "checkpoints" / "darknet19.ckpt";
  pid_t pid = spawn();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(ckpt) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(fs::exists(ckpt)) << "no checkpoint within 60 s";
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it could be killed";
  ASSERT_FALSE(fs::exists(out / "manifest.yaml"));
  // A half-written checkpoint from the kill is never read.
  std::ofstream(ckpt.string() + ".tmp") << "half a file";

  pid = spawn();
  waitpid(pid, &status, 0);
  const std::string text = slurp(log);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
  EXPECT_NE(text.find("darknet19: resuming"), std::string::npos) << text;
  const auto mm = load_models_manifest(out);
  EXPECT_EQ(mm.members.at(0).epochs, 5);
  // Epoch lines ("darknet19 ep N/5 ..."). An epoch's line follows its checkpoint, so no epoch
  // is trained (or reported) twice; the one whose checkpoint the kill raced may miss its line.
  std::vector<int> reported;
  for (std::size_t p = text.find(" ep "); p != std::string::npos; p = text.find(" ep ", p + 1))
    reported.push_back(std::atoi(text.c_str() + p + 4));
  std::vector<int> sorted = reported;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "an epoch ran twice:\n" << text;
  ASSERT_FALSE(sorted.empty()) << text;
  EXPECT_EQ(sorted.back(), 5) << text;
  EXPECT_GE(sorted.size(), 4u) << "more than the raced epoch's line is missing:\n" << text;
  EXPECT_LE(sorted.size(), 5u) << text;
}

// The set-up of the tests that train the phantom task more than once into one folder: one
// epoch of two batches.
struct RepeatedRuns {
  TempDir tmp;
  TaskSpec task = resolve_task(write_phantom_task(tmp.path()).string());
  TrainOptions o = quick(1);
  fs::path out = tmp / "models";
  RepeatedRuns() { o.max_train_batches = 2; }
};

// A member the output folder's manifest already lists, trained with the same data and
// settings, is kept as it is (no checkpoint needed); another learning rate trains it again.
TEST(Train, KeepsFinishedMembersOfTheManifest) {
  RepeatedRuns r;
  auto& [tmp, task, o, out] = r;
  const auto first = train_ensemble(task, phantoms(), o, out);
  const std::string weights = slurp(out / "darknet19.pt");
  ASSERT_NEAR(*load_models_manifest(out).members.at(0).lr, 3e-3, 1e-12);
  fs::remove_all(out / "checkpoints");  // e.g. a models folder copied to another machine

  // A manifest written before members recorded their lr (as models/pneumonia's) is read
  // with the run's lr for every member: still kept.
  {
    std::istringstream text(slurp(out / "manifest.yaml"));
    std::ofstream rewritten(out / "manifest.yaml");
    for (std::string line; std::getline(text, line);)
      if (line.find("    lr:") != 0) rewritten << line << "\n";
  }
  ASSERT_FALSE(load_models_manifest(out).members.at(0).lr.has_value());

  o.members = {"darknet19", "squeezenet"};
  o.threads = 2;  // two members at once: the TBB path, with a kept member beside a trained one
  const auto second = train_ensemble(task, phantoms(), o, out);
  ASSERT_EQ(second.members.size(), 2u);
  EXPECT_TRUE(second.members[0].kept);
  EXPECT_FALSE(second.members[1].kept);
  EXPECT_EQ(second.members[0].epochs_run, 1);
  EXPECT_EQ(second.members[0].best_epoch, first.members[0].best_epoch);
  EXPECT_DOUBLE_EQ(second.members[0].test.accuracy, first.members[0].test.accuracy);
  EXPECT_EQ(slurp(out / "darknet19.pt"), weights) << "a kept member's weights were rewritten";
  const auto mm = load_models_manifest(out);
  ASSERT_EQ(mm.members.size(), 2u);
  EXPECT_EQ(mm.members[1].name, "squeezenet");

  // Another learning rate for darknet19 alone: it is trained again, squeezenet is kept.
  fs::remove_all(out / "checkpoints");
  o.member_lr = {{"darknet19", 1e-2}};
  const auto third = train_ensemble(task, phantoms(), o, out);
  EXPECT_FALSE(third.members[0].kept);
  EXPECT_TRUE(third.members[1].kept);
  EXPECT_NE(slurp(out / "darknet19.pt"), weights);
  EXPECT_NEAR(*load_models_manifest(out).members.at(0).lr, 1e-2, 1e-12);

  // --restart (resume = false) keeps nothing.
  o.resume = false;
  const auto fourth = train_ensemble(task, phantoms(), o, out);
  EXPECT_FALSE(fourth.members[0].kept);
  EXPECT_FALSE(fourth.members[1].kept);
}

// A rerun that keeps every member keeps their domain check (no second pass over the data);
// one that trains a member again fits it again.
TEST(Train, ARerunKeepingEveryMemberKeepsTheDomainCheck) {
  RepeatedRuns r;
  auto& [tmp, task, o, out] = r;
  train_ensemble(task, phantoms(), o, out);
  ASSERT_TRUE(load_models_manifest(out).domain.has_value());
  fs::remove_all(out / "checkpoints");
  // Mark the block: a refit would write today's date over it.
  const std::string marked = std::regex_replace(slurp(out / "manifest.yaml"),
                                                std::regex("(\\n  date: )[^\\n]*"), "$1\"2000-01-01T00:00:00Z\"");
  ASSERT_NE(marked, slurp(out / "manifest.yaml")) << "no domain date to mark";
  std::ofstream(out / "manifest.yaml") << marked;
  ASSERT_EQ(load_models_manifest(out).domain->date, "2000-01-01T00:00:00Z");

  const auto kept = train_ensemble(task, phantoms(), o, out);
  EXPECT_TRUE(kept.members.at(0).kept);
  ASSERT_TRUE(load_models_manifest(out).domain.has_value());
  EXPECT_EQ(load_models_manifest(out).domain->date, "2000-01-01T00:00:00Z") << "the domain check was fitted again";

  fs::remove_all(out / "checkpoints");
  o.member_lr = {{"darknet19", 1e-2}};
  const auto retrained = train_ensemble(task, phantoms(), o, out);
  EXPECT_FALSE(retrained.members.at(0).kept);
  ASSERT_TRUE(load_models_manifest(out).domain.has_value());
  EXPECT_NE(load_models_manifest(out).domain->date, "2000-01-01T00:00:00Z") << "a retrained member kept a stale domain check";
}

// Each member of the earlier manifest is judged on its own: one whose weights file was deleted
// or changed is trained again, the others are kept.
TEST(Train, KeepsEachMemberWhoseWeightsAreIntact) {
  RepeatedRuns r;
  auto& [tmp, task, o, out] = r;
  o.members = {"darknet19", "squeezenet"};
  train_ensemble(task, phantoms(), o, out);
  const auto mm = load_models_manifest(out);
  ASSERT_EQ(mm.members.at(0).weights_hash, weights_file_hash(out / "darknet19.pt"));
  const std::string darknet = slurp(out / "darknet19.pt");

  fs::remove_all(out / "checkpoints");
  fs::remove(out / "squeezenet.pt");
  const auto second = train_ensemble(task, phantoms(), o, out);
  EXPECT_TRUE(second.members[0].kept) << "darknet19 retrained because squeezenet.pt was missing";
  EXPECT_FALSE(second.members[1].kept);
  EXPECT_TRUE(fs::exists(out / "squeezenet.pt"));
  EXPECT_EQ(slurp(out / "darknet19.pt"), darknet);

  // darknet19.pt overwritten by something else (same size, other bytes): not kept.
  fs::remove_all(out / "checkpoints");
  std::string other = darknet;
  other[other.size() / 2] ^= 0x5a;
  std::ofstream(out / "darknet19.pt", std::ios::binary) << other;
  const auto third = train_ensemble(task, phantoms(), o, out);
  EXPECT_FALSE(third.members[0].kept) << "a changed weights file was kept";
  EXPECT_TRUE(third.members[1].kept);
}

// A checkpoint written with other settings stops the run before any member trains, naming it.
TEST(Train, CheckpointOfOtherSettingsStopsBeforeTraining) {
  RepeatedRuns r;
  auto& [tmp, task, o, out] = r;
  train_ensemble(task, phantoms(), o, out);  // darknet19 and its checkpoint
  ASSERT_TRUE(fs::exists(out / "checkpoints" / "darknet19.ckpt"));
  o.members = {"squeezenet", "darknet19"};    // one after another: squeezenet would go first
  o.member_lr = {{"darknet19", 1e-2}};
  try {
    train_ensemble(task, phantoms(), o, out);
    ADD_FAILURE() << "no error for a checkpoint of other settings";
  } catch (const ModelError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("darknet19.ckpt"), std::string::npos) << what;
    EXPECT_NE(what.find("other settings"), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(out / "checkpoints" / "squeezenet.ckpt")) << "squeezenet trained before the error";
}

TEST(Train, MemberLrNamesAMemberOfTheRun) {
  TempDir tmp;
  const TaskSpec task = resolve_task(write_phantom_task(tmp.path()).string());
  auto o = quick(1);
  o.member_lr = {{"vgg19", 1e-4}};
  try {
    train_ensemble(task, phantoms(), o, tmp / "models");
    ADD_FAILURE() << "no error for a --member-lr naming a member not in the run";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'vgg19' is not one of the members"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(tmp / "models" / "darknet19.pt")) << "trained despite the error";
}

// A torchvision resnet18 saved from Python is imported for a 2-class task and gives the
// same logits through the manifest as in Python.
TEST(Train, ImportTorchvisionRoundTrip) {
  TempDir tmp;
  try {
    make_member("resnet18", {});
  } catch (const ModelError& e) {
    GTEST_SKIP() << "resnet18 not available: " << e.what();
  }
  if (std::system("/usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with torch and torchvision not available";
  const fs::path from = tmp / "from";
  fs::create_directories(from);
  const std::string script =
      "import torch, torchvision\n"
      "torch.manual_seed(0)\n"
      "m = torchvision.models.resnet18(num_classes=2).eval()\n"
      "torch.save(m.state_dict(), '" + (from / "resnet18.pt").string() + "')\n"
      "x = torch.linspace(-2, 2, 2*3*224*224).reshape(2, 3, 224, 224)\n"
      "with torch.no_grad(): y = m(x)\n"
      "open('" + (tmp / "logits.txt").string() + "', 'w').write(' '.join('%.6f' % v for v in y.flatten().tolist()))\n";
  std::ofstream(tmp / "make.py") << script;
  ASSERT_EQ(std::system(("/usr/bin/python3 " + (tmp / "make.py").string()).c_str()), 0);
  TaskSpec task;
  task.name = "pneumonia";
  task.classes = {"normal", "pneumonia"};
  ImportOptions io;
  io.preset = "full";
  import_members(task, from, io, tmp / "models");
  const auto mm = load_models_manifest(tmp / "models");
  const auto& e = mm.member("resnet18");
  EXPECT_EQ(e.input_side, 224);
  MemberOptions mo;
  mo.num_classes = 2;
  Member m = make_member("resnet18", mo);
  train_detail::load_weights(*m, e.file, false);
  m->eval();
  torch::NoGradGuard ng;
  auto y = m->forward(torch::linspace(-2, 2, 2 * 3 * 224 * 224).reshape({2, 3, 224, 224}));
  std::stringstream ref(slurp(tmp / "logits.txt"));
  for (int i = 0; i < 4; ++i) {
    double v;
    ref >> v;
    EXPECT_NEAR(y.flatten()[i].item<double>(), v, 1e-3) << "logit " << i;
  }
  // A classifier with another class count is refused, naming the file.
  task.classes = {"a", "b", "c"};
  try {
    import_members(task, from, io, tmp / "models3");
    ADD_FAILURE() << "no error for a 2-class state dict imported into a 3-class task";
  } catch (const ModelError& err) {
    EXPECT_NE(std::string(err.what()).find("resnet18.pt"), std::string::npos) << err.what();
  }
}

// Issue 13 (size): a finished run's checkpoints keep the float32 best epoch, so the same command
// with another --weights-dtype re-stores every member (int8 here) and re-evaluates it, without
// training it again; the manifest says int8 and the file is smaller.
TEST(Train, RerunWithAnotherWeightsDtypeRestoresWithoutTraining) {
  TempDir tmp;
  const TaskSpec task = resolve_task(write_phantom_task(tmp.path()).string());
  auto o = quick(2);
  o.max_train_batches = 2;
  const auto first = train_ensemble(task, phantoms(), o, tmp / "run");
  const auto half_bytes = std::filesystem::file_size(tmp / "run" / "darknet19.pt");

  o.weights_dtype = WeightStorage::Int8;
  const auto second = train_ensemble(task, phantoms(), o, tmp / "run");
  ASSERT_EQ(second.members.size(), 1u);
  EXPECT_TRUE(second.members[0].resumed);
  EXPECT_EQ(second.members[0].epochs_run, first.members[0].epochs_run);
  EXPECT_EQ(second.members[0].best_epoch, first.members[0].best_epoch);
  EXPECT_EQ(second.members[0].train_loss, first.members[0].train_loss);  // no epoch trained again
  EXPECT_LT(std::filesystem::file_size(tmp / "run" / "darknet19.pt"), half_bytes * 0.75);

  const ModelsManifest m = load_models_manifest(tmp / "run");
  const auto dtype = std::find_if(m.training.begin(), m.training.end(),
                                  [](const auto& kv) { return kv.first == "weights_dtype"; });
  ASSERT_NE(dtype, m.training.end());
  EXPECT_EQ(dtype->second, "int8");
  // The stored figures are those of the int8 weights: they may move, but only a little.
  EXPECT_NEAR(second.members[0].test.accuracy, first.members[0].test.accuracy, 0.1);
}

// Issue 13: --init takes a gradgate models folder (its manifest names each member's file and
// the side/width it was trained at); a run at another preset is refused before training. The
// weights are stored in half precision by default and the manifest says so.
TEST(Train, InitFromAGradgateModelsFolder) {
  TempDir tmp;
  const TaskSpec task = resolve_task(write_phantom_task(tmp.path()).string());
  auto o = quick(1);
  o.max_train_batches = 2;
  train_ensemble(task, phantoms(), o, tmp / "first");
  for (const auto& [k, t] : read_state_dict((tmp / "first" / "darknet19.pt").string()))
    EXPECT_EQ(t.scalar_type(), k.find("num_batches_tracked") != std::string::npos ? torch::kInt64 : torch::kHalf) << k;
  const ModelsManifest first = load_models_manifest(tmp / "first");
  const auto dtype = std::find_if(first.training.begin(), first.training.end(),
                                  [](const auto& kv) { return kv.first == "weights_dtype"; });
  ASSERT_NE(dtype, first.training.end());
  EXPECT_EQ(dtype->second, "float16");

  o.init_dir = tmp / "first";
  const auto s = train_ensemble(task, phantoms(), o, tmp / "second");
  ASSERT_EQ(s.members.size(), 1u);
  const ModelsManifest second = load_models_manifest(tmp / "second");
  const auto init = std::find_if(second.training.begin(), second.training.end(),
                                 [](const auto& kv) { return kv.first == "init"; });
  ASSERT_NE(init, second.training.end());
  EXPECT_EQ(init->second, (tmp / "first").string());

  o.preset = "compact";
  const std::string err = error_of([&] { train_ensemble(task, phantoms(), o, tmp / "third"); });
  EXPECT_TRUE(contains(err, "--init")) << err;
  EXPECT_TRUE(contains(err, "64 px")) << err;
  EXPECT_FALSE(fs::exists(tmp / "third" / "darknet19.pt"));
}

// Issue 16: a manifest split of another name (an external set) is for classification only;
// training names it and stops before any member trains.
TEST(Train, ASplitOfAnotherNameIsRefused) {
  TempDir tmp;
  const TaskSpec task = resolve_task(write_phantom_task(tmp.path()).string());
  std::ifstream in(phantoms() / "manifest.csv");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.rfind(",test,");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 6, ",external,");
  // Image paths stay those of the phantom set: the manifest is written beside it.
  const fs::path manifest = phantoms() / "manifest-external.csv";
  std::ofstream(manifest) << text;
  const std::string err = error_of([&] { train_ensemble(task, manifest, quick(1), tmp / "models"); });
  fs::remove(manifest);
  EXPECT_TRUE(contains(err, "'external'")) << err;
  EXPECT_TRUE(contains(err, "training needs train, val and test")) << err;
  EXPECT_FALSE(fs::exists(tmp / "models" / "darknet19.pt"));
}

// `--out models/x` (relative): the manifest names each file relative to its own folder, so it
// loads from anywhere (it once recorded "models/x/m.pt", read as models/x/models/x/m.pt).
TEST(Train, ARelativeOutputFolderGivesAManifestThatLoads) {
  TempDir tmp;
  const TaskSpec task = resolve_task(write_phantom_task(tmp.path()).string());
  auto o = quick(1);
  o.max_train_batches = 1;
  o.fit_domain = false;
  const fs::path cwd = fs::current_path();
  fs::current_path(tmp.path());
  try {
    train_ensemble(task, phantoms(), o, "rel/models");
  } catch (...) {
    fs::current_path(cwd);
    throw;
  }
  fs::current_path(cwd);
  EXPECT_TRUE(contains(slurp(tmp / "rel" / "models" / "manifest.yaml"), "file: darknet19.pt"))
      << slurp(tmp / "rel" / "models" / "manifest.yaml");
  const auto mm = load_models_manifest(tmp / "rel" / "models");
  EXPECT_EQ(mm.members.at(0).file, tmp / "rel" / "models" / "darknet19.pt");
}
