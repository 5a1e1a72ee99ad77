// Issue #15, the torch half: crafted weights, models that do not match their manifest,
// output folders shared by two runs, invalid masks at the gate, and determinism of parallel
// training and --serial classification. Each test reproduced its case first.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <caffe2/serialize/inline_container.h>

#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/classify.h"
#include "gradgate/common/fnv1a.h"
#include "gradgate/ensemble.h"
#include "gradgate/error.h"
#include "gradgate/lung_mask.h"
#include "gradgate/output_dir.h"
#include "gradgate/phantom.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/train.h"
#include "gradgate/zoo/registry.h"
#include "gradgate/zoo/seeded_dropout.h"
#include "gradgate/zoo/weights.h"
#include "test_util.h"
#include "zoo/torch_pickle.h"

using namespace gradgate;
namespace fs = std::filesystem;
using gradgate::testing::slurp;
using gradgate::testing::TempDir;
using gradgate::testing::contains;
using gradgate::testing::error_of;
using gradgate::testing::write_phantom_task;

namespace {

// A torch.save-style zip whose data.pkl is `pkl`.
void write_archive(const fs::path& file, const std::string& pkl) {
  caffe2::serialize::PyTorchStreamWriter w(file.string());
  w.writeRecord("data.pkl", pkl.data(), pkl.size());
  w.writeEndOfFile();
}

// The issue's file: protocol 2, None, then `n` TUPLE1 opcodes (each wraps the last value).
std::string nested_tuples(int n) { return std::string("\x80\x02N") + std::string(n, '\x85') + "."; }

std::vector<std::string> lines_of(const fs::path& f) {
  std::ifstream in(f);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

ClassifyRequest tiny_request(const fs::path& dir) {
  ClassifyRequest rq;
  rq.task = "pneumonia";
  rq.preset = "tiny";
  rq.members = {"resnet18", "squeezenet", "alexnet"};
  rq.models_dir = dir / "no-models";
  rq.allow_untrained = true;
  rq.out = dir / "out";
  rq.progress = false;
  rq.batch = 4;
  return rq;
}

}  // namespace

// ---- 3. a crafted pickle: a clear ModelError, not a stack overflow ----

TEST(ReliabilityTorch, AHundredThousandNestedTuplesIsAModelErrorNotACrash) {
  TempDir tmp;
  write_archive(tmp / "deep.pt", nested_tuples(100000));
  const std::string e = error_of([&] { read_state_dict((tmp / "deep.pt").string()); });
  EXPECT_TRUE(contains(e, "deep.pt") && contains(e, "nesting deeper than 1000")) << e;
  // The pre-scan for files torch's own reader opens (the U-Net, checkpoints).
  const std::string u = error_of([&] { check_torch_archive((tmp / "deep.pt").string(), "lung U-Net weights"); });
  EXPECT_TRUE(contains(u, "lung U-Net weights") && contains(u, "nesting")) << u;
  // Shallow pickles are not the pre-scan's business.
  write_archive(tmp / "flat.pt", nested_tuples(10));
  EXPECT_NO_THROW(check_torch_archive((tmp / "flat.pt").string(), "checkpoint"));
}

// Found while writing the pickle fuzzer (#15): nesting built by APPEND into lists already
// held by another list (through the memo) kept every list's recorded depth at 1, so the
// pre-scan passed a 100,000-deep chain on to torch's own reader, whose teardown recurses.
std::string appended_chain(int n) {
  std::string p("\x80\x02", 2);
  const auto le4 = [](uint32_t i) { return std::string{char(i), char(i >> 8), char(i >> 16), char(i >> 24)}; };
  for (int i = 0; i < n; ++i) p += "]r" + le4(static_cast<uint32_t>(i)) + "0";  // EMPTY_LIST LONG_BINPUT i POP
  for (int i = 0; i + 1 < n; ++i)  // list i appends list i+1, after list i is inside list i-1
    p += "j" + le4(static_cast<uint32_t>(i)) + "j" + le4(static_cast<uint32_t>(i + 1)) + "a0";
  return p + "j" + le4(0) + ".";
}

TEST(ReliabilityTorch, NestingBuiltByAppendingToHeldListsIsCountedToo) {
  TempDir tmp;
  write_archive(tmp / "chain.pt", appended_chain(100000));
  const std::string u = error_of([&] { check_torch_archive((tmp / "chain.pt").string(), "lung U-Net weights"); });
  EXPECT_TRUE(contains(u, "lung U-Net weights") && contains(u, "refused")) << u;
  const std::string e = error_of([&] { read_state_dict((tmp / "chain.pt").string()); });
  EXPECT_TRUE(contains(e, "chain.pt") && contains(e, "already held")) << e;
  write_archive(tmp / "short.pt", appended_chain(3));  // same opcodes, refused just the same
  EXPECT_THROW(check_torch_archive((tmp / "short.pt").string(), "checkpoint"), ModelError);
}

// Found while writing the pickle fuzzer (#15), and its leak check reports all three on the
// reader before the fix (tests/fuzz/corpus/pickle/{self_append,cycle2,build_self}.pkl): a
// list appended to itself (DUP, APPEND), to a list it is inside, or a dict made its own BUILD
// state was a shared_ptr cycle, never freed; now refused before it is made.
TEST(ReliabilityTorch, APickleValueContainingItselfIsRefused) {
  namespace pk = zoo::pickle;
  const pk::PersistentLoad none = [](const pk::Ref&) { return std::make_shared<pk::Value>(); };
  for (const std::string p : {std::string("\x80\x02]2a.", 6),            // [l] l.append(l)
                              std::string("\x80\x02]q\x00]h\x00" "a" "a.", 11),  // l.append([l])
                              std::string("\x80\x02}2b.", 6)}) {        // d.__setstate__(d)
    const std::string e = error_of([&] {
      pk::unpickle(reinterpret_cast<const uint8_t*>(p.data()), p.size(), [&](const pk::Ref& r) { return none(r); });
    });
    EXPECT_TRUE(contains(e, "itself") || contains(e, "already held")) << e;
  }
}

// Found while writing the pickle fuzzer (#15): a storage's element count from the pickle was
// allocated (torch::empty) before it was compared with the size of its record, so a 300-byte
// .pt asked for 4 TB (the allocator refused) or for anything up to the machine's memory
// (reserved, then refused). Now the record's size bounds the count first.
TEST(ReliabilityTorch, AStorageLargerThanItsRecordIsRefusedBeforeAllocating) {
  namespace pk = zoo::pickle;
  // {'w': _rebuild_tensor_v2(persistent ('storage', FloatStorage, '0', 'cpu', 2**40), 0, (1,), (1,))}
  using namespace std::string_literals;  // the literals hold NULs
  std::string p = "\x80\x02}X\x01\x00\x00\x00w"s;
  p += "ctorch._utils\n_rebuild_tensor_v2\n("s;
  p += "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpu"s;
  p += "\x8a\x06\x00\x00\x00\x00\x00\x01"s + "tQ";  // LONG1 2**40
  p += "K\x00K\x01\x85K\x01\x85tRs."s;
  const pk::ReadRecord sixty_four = [](const std::string&) -> std::optional<pk::Record> {
    void* d = at::getCPUAllocator()->raw_allocate(64);
    return pk::Record{at::DataPtr(d, d, at::getCPUAllocator()->raw_deleter(), at::kCPU), 64};
  };
  const std::string e = error_of([&] {
    pk::unpickle_torch_save(reinterpret_cast<const uint8_t*>(p.data()), p.size(), sixty_four);
  });
  EXPECT_TRUE(contains(e, "data/0 holds 64 bytes") && contains(e, "1099511627776 elements")) << e;
  // The same pickle with a storage of 2 elements reads.
  std::string ok = p;
  ok.replace(ok.find(std::string("\x8a\x06", 2)), 8, std::string("K\x02", 2));
  auto top = pk::unpickle_torch_save(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), sixty_four);
  ASSERT_EQ(top->dict.size(), 1u);
  EXPECT_EQ(top->dict[0].second->tensor.numel(), 1);
}

TEST(ReliabilityTorch, AValueTreeOfAMillionLevelsIsTornDownWithoutRecursion) {
  namespace pk = zoo::pickle;
  auto top = std::make_shared<pk::Value>();
  for (int i = 0; i < 1000000; ++i) {
    auto t = std::make_shared<pk::Value>();
    t->kind = pk::Value::Kind::Tuple;
    t->items.push_back(std::move(top));
    top = std::move(t);
  }
  top.reset();  // recursive destructors overflowed the stack here
  SUCCEED();
}

// ---- 11. a corrupt model: one line naming the file, no libtorch backtrace ----

TEST(ReliabilityTorch, ACorruptWeightsFileIsOneClearLine) {
  TempDir tmp;
  torch::manual_seed(1);
  Member net = make_member("alexnet", {2, 0.125, 64});
  save_state_dict(*net, (tmp / "w.pt").string());
  std::string bytes = slurp(tmp / "w.pt");
  bytes.resize(bytes.size() / 2);  // the zip's directory is gone
  std::ofstream(tmp / "w.pt", std::ios::binary | std::ios::trunc) << bytes;
  const std::string e = error_of([&] { read_state_dict((tmp / "w.pt").string()); });
  EXPECT_TRUE(contains(e, "w.pt")) << e;
  EXPECT_FALSE(contains(e, "Exception raised from") || contains(e, "frame #")) << e;
}

// ---- 8. models are checked against their manifest ----

TEST(ReliabilityTorch, WeightsNotMatchingTheirManifestHashAreRefused) {
  TempDir tmp;
  torch::manual_seed(2);
  Member net = make_member("resnet18", {2, 0.125, 64});
  save_state_dict(*net, (tmp / "w.pt").string());
  EnsembleOptions eo;
  eo.classes = {"normal", "pneumonia"};
  MemberCard c;
  c.member = "resnet18";
  c.preset = "tiny";
  c.input_side = 64;
  c.width = 0.125;
  c.feature_layer = member_info("resnet18").feature_layer;
  eo.members.push_back({c, tmp / "w.pt", "fnv1a64:0000000000000000"});
  const std::string e = error_of([&] { Ensemble ens(eo); });
  EXPECT_TRUE(contains(e, "w.pt") && contains(e, "fnv1a64:0000000000000000") &&
              contains(e, weights_file_hash(tmp / "w.pt")))
      << e;
  eo.members[0].weights_hash = weights_file_hash(tmp / "w.pt");
  EXPECT_NO_THROW(Ensemble ens(eo));
}

TEST(ReliabilityTorch, AModelsFolderOfAnotherTaskIsRefused) {
  TempDir tmp;
  torch::manual_seed(3);
  Member net = make_member("resnet18", {2, 0.125, 64});
  save_state_dict(*net, (tmp / "models/resnet18.pt").string());
  ModelsManifest mf;
  mf.task = "bacterial-vs-viral";
  mf.classes = {"normal", "pneumonia"};  // the same shapes: only the task tells them apart
  ModelEntry me;
  me.name = "resnet18";
  me.preset = "tiny";
  me.input_side = 64;
  me.width = 0.125;
  me.file = tmp / "models/resnet18.pt";
  mf.members.push_back(me);
  save_models_manifest(mf, tmp / "models");
  write_phantom_dataset(tmp / "data", 1, 64, 3);
  ClassifyRequest rq = tiny_request(tmp.path());
  rq.members = {};
  rq.models_dir = tmp / "models";
  rq.inputs = {(tmp / "data/images").string()};
  const std::string e = error_of([&] { run_classify(rq); });
  EXPECT_TRUE(contains(e, "bacterial-vs-viral") && contains(e, "pneumonia") && contains(e, "manifest.yaml")) << e;
}

// ---- 6. an impossible quorum or a duplicated member is an error, not a clamp ----

TEST(ReliabilityTorch, QuorumAboveTheMembersAndDuplicatedMembersAreErrors) {
  TempDir tmp;
  ClassifyRequest rq = tiny_request(tmp.path());
  rq.inputs = {"/nonexistent.png"};
  rq.quorum = 100;
  EXPECT_TRUE(contains(error_of([&] { run_classify(rq); }), "--quorum")) << error_of([&] { run_classify(rq); });
  rq.quorum.reset();
  rq.members = {"resnet18", "resnet18"};
  EXPECT_TRUE(contains(error_of([&] { run_classify(rq); }), "listed twice"));
  rq.members = {"resnet18"};
  rq.preset = "huge";
  EXPECT_TRUE(contains(error_of([&] { run_classify(rq); }), "--preset"));
  EXPECT_FALSE(fs::exists(tmp / "out"));
}

// ---- 2 and 11. one run per output folder; a rerun leaves no earlier montage ----

TEST(ReliabilityTorch, ARunIntoAFolderAnotherRunHoldsFailsAtOnceAndWritesNothing) {
  TempDir tmp;
  write_phantom_dataset(tmp / "data", 1, 64, 3);
  ClassifyRequest rq = tiny_request(tmp.path());
  rq.inputs = {(tmp / "data/images").string()};
  const OutputLock other(rq.out);  // "the other run"
  const std::string e = error_of([&] { run_classify(rq); });
  EXPECT_TRUE(contains(e, rq.out.string()) && contains(e, "pid " + std::to_string(::getpid()))) << e;
  EXPECT_FALSE(fs::exists(rq.out / "run.json"));
  EXPECT_FALSE(fs::exists(rq.out / "results.csv.part"));
}

TEST(ReliabilityTorch, ARerunIntoTheSameFolderKeepsOnlyItsOwnMontages) {
  TempDir tmp;
  write_phantom_dataset(tmp / "data", 1, 64, 3);  // 4 images
  ClassifyRequest rq = tiny_request(tmp.path());
  rq.overlays = false;
  rq.inputs = {(tmp / "data/images").string()};
  run_classify(rq);
  std::size_t first = 0;
  for (const auto& e : fs::directory_iterator(rq.out / "montage")) first += e.path().extension() == ".png";
  ASSERT_EQ(first, 4u);
  { std::ofstream(rq.out / "montage" / "my-notes.txt") << "mine"; }
  std::vector<std::string> one;
  for (const auto& e : fs::directory_iterator(tmp / "data/images"))
    if (one.empty() && e.path().extension() == ".png") one.push_back(e.path().string());
  rq.inputs = one;
  run_classify(rq);
  std::size_t second = 0;
  for (const auto& e : fs::directory_iterator(rq.out / "montage")) second += e.path().extension() == ".png";
  EXPECT_EQ(second, 1u);
  EXPECT_TRUE(fs::exists(rq.out / "montage" / "my-notes.txt"));
  EXPECT_EQ(lines_of(rq.out / "results.csv").size(), 2u);
}

// ---- 5. an invalid mask: every member invalid-mask, the fallback decides, a warning ----

TEST(ReliabilityTorch, AnAllWhiteMaskFileSwitchesTheGateToItsFallbackWithAWarning) {
  TempDir tmp;
  write_phantom_dataset(tmp / "data", 1, 64, 3);
  std::vector<fs::path> images;
  for (const auto& e : fs::directory_iterator(tmp / "data/images"))
    if (e.path().extension() == ".png") images.push_back(e.path());
  ASSERT_FALSE(images.empty());
  const cv::Mat white(64, 64, CV_8UC1, cv::Scalar(255));
  ASSERT_TRUE(cv::imwrite((tmp / "white.png").string(), white));
  fs::create_directories(tmp / "in");
  fs::copy_file(images[0], tmp / "in/x.png");
  fs::copy_file(tmp / "white.png", tmp / "in/x_mask.png");
  ClassifyRequest rq = tiny_request(tmp.path());
  rq.inputs = {(tmp / "in").string()};
  rq.quorum = 1;
  const ClassifySummary s = run_classify(rq);
  EXPECT_EQ(s.images, 1);  // x_mask.png is x's mask, not a second image
  EXPECT_EQ(s.abstained, 1);
  const auto rows = lines_of(rq.out / "results.jsonl");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(contains(rows[0], "invalid-mask")) << rows[0];
  EXPECT_TRUE(contains(rows[0], "covers 100%")) << rows[0];
  EXPECT_TRUE(contains(rows[0], "lung mask is not usable")) << rows[0];
}

// ---- 7. determinism: parallel training, --serial classification ----

TEST(ReliabilityTorch, SeededDropoutIgnoresTheGlobalGenerator) {
  torch::manual_seed(1);
  Member net = make_member("alexnet", {2, 0.125, 64});
  net->train();
  const torch::Tensor x = torch::rand({2, 3, 64, 64});
  ASSERT_EQ(seed_dropout(*net, 7), 2);  // alexnet's two classifier dropouts
  const torch::Tensor a = net->forward(x);
  seed_dropout(*net, 7);
  torch::manual_seed(12345);  // another member re-seeding the global generator
  const torch::Tensor b = net->forward(x);
  EXPECT_TRUE(torch::equal(a, b));
}

TEST(ReliabilityTorch, ParallelTrainingTwiceGivesIdenticalWeights) {
  TempDir tmp;
  const fs::path task_file = write_phantom_task(tmp.path());  // members set below
  write_phantom_dataset(tmp / "data", 40, 64, 5);  // as test_train.cpp: every split gets every class
  const TaskSpec task = resolve_task(task_file.string());
  TrainOptions o;
  o.members = {"resnet18", "alexnet"};
  o.preset = "tiny";
  o.epochs = 3;  // later epochs re-seed while the other member trains
  o.batch = 4;
  o.warmup_epochs = 0;
  o.patience = 5;
  o.threads = 2;
  o.parallel_members = 2;
  o.max_train_batches = 3;
  o.progress = false;
  train_ensemble(task, tmp / "data", o, tmp / "a");
  train_ensemble(task, tmp / "data", o, tmp / "b");
  for (const char* m : {"alexnet", "resnet18"})
    EXPECT_EQ(slurp(tmp / "a" / (std::string(m) + ".pt")), slurp(tmp / "b" / (std::string(m) + ".pt"))) << m;
}

TEST(ReliabilityTorch, SerialAndParallelClassificationAreBitIdentical) {
  TempDir tmp;
  write_phantom_dataset(tmp / "data", 1, 96, 3);
  ClassifyRequest rq = tiny_request(tmp.path());
  rq.overlays = rq.montage = false;
  rq.threads = 2;
  rq.inputs = {(tmp / "data/images").string()};
  rq.out = tmp / "parallel";
  torch::manual_seed(5);  // the same random weights for the untrained members in both runs
  run_classify(rq);
  rq.serial = true;
  rq.out = tmp / "serial";
  torch::manual_seed(5);
  run_classify(rq);
  EXPECT_EQ(slurp(tmp / "parallel/results.csv"), slurp(tmp / "serial/results.csv"));
}
