// The torch.save reader/writer: the usual OrderedDict file, error listings, the classifier
// skip for another class count, and save -> load round trips.
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "fixtures/tiny_ordered_state_dict.h"
#include "gradgate/error.h"
#include "gradgate/zoo/registry.h"
#include "gradgate/zoo/weights.h"
#include "test_util.h"

using namespace gradgate;
using gradgate::testing::TempDir;

namespace {

std::map<std::string, torch::Tensor> as_map(const NamedTensors& v) {
  std::map<std::string, torch::Tensor> m;
  for (const auto& [k, t] : v) m[k] = t;
  return m;
}

std::map<std::string, torch::Tensor> state_of(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().detach().clone();
  for (const auto& b : m.named_buffers()) out[b.key()] = b.value().detach().clone();
  return out;
}

std::string load_error(torch::nn::Module& m, const NamedTensors& t, const LoadOptions& o = {}) {
  try {
    load_state_dict(m, t, o, "weights.pt");
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

// Small members keep these tests fast; names do not depend on width.
MemberOptions small(int64_t classes = 1000) {
  MemberOptions o;
  o.width = 0.25;
  o.num_classes = classes;
  return o;
}

struct Tiny : torch::nn::Module {
  Tiny() {
    register_module("conv", torch::nn::Conv2d(1, 2, 1));
    register_module("bn", torch::nn::BatchNorm2d(2));
    register_module("fc", torch::nn::Linear(2, 3));
  }
};

}  // namespace

TEST(Weights, ReadsTheUsualOrderedDictFile) {
  TempDir dir;
  const auto path = dir / "tiny.pt";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(gradgate::testing::kTinyOrderedStateDict),
              sizeof(gradgate::testing::kTinyOrderedStateDict));
  }
  const NamedTensors sd = read_state_dict(path.string());
  ASSERT_EQ(sd.size(), 9u);
  EXPECT_EQ(sd.front().first, "conv.weight");  // file order kept
  EXPECT_EQ(sd.back().first, "fc.bias");
  auto m = as_map(sd);
  EXPECT_TRUE(m["bn.running_mean"].allclose(torch::tensor({0.5f, -0.25f})));
  EXPECT_EQ(m["bn.num_batches_tracked"].scalar_type(), torch::kLong);
  EXPECT_EQ(m["bn.num_batches_tracked"].dim(), 0);
  EXPECT_EQ(m["fc.weight"].sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_NEAR(m["fc.weight"][1][1].item<float>(), 0.5606575012207031f, 1e-7);

  Tiny tiny;
  const LoadReport r = load_torchvision_state_dict(tiny, path.string());
  EXPECT_EQ(r.loaded.size(), 9u);
  EXPECT_TRUE(tiny.named_buffers()["bn.running_mean"].allclose(torch::tensor({0.5f, -0.25f})));
}

TEST(Weights, ReadsPythonReferenceFilesOfBothKinds) {
  GRADGATE_REQUIRE_PYTHON_REFS(refs);
  // resnet18.pt is torch.save(model.state_dict()), squeezenet.pt torch.save(dict(...)).
  for (const std::string name : {"resnet18", "squeezenet"}) {
    auto m = make_member(name);
    const LoadReport r = load_torchvision_state_dict(*m, (refs / (name + ".pt")).string());
    EXPECT_GT(r.loaded.size(), 10u) << name;
    EXPECT_TRUE(r.missing.empty() && r.unexpected.empty()) << name;
  }
}

TEST(Weights, SaveThenLoadRoundTrips) {
  TempDir dir;
  auto a = make_member("resnet18", small());
  {
    torch::NoGradGuard g;  // non-trivial buffers, so they are checked too
    for (auto& b : a->buffers())
      if (b.is_floating_point()) b.uniform_(0.5, 1.5);
  }
  save_state_dict(*a, (dir / "r18.pt").string());
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))  // no temp file left
    EXPECT_EQ(e.path().filename().string(), "r18.pt");

  auto b = make_member("resnet18", small());
  const LoadReport r = load_torchvision_state_dict(*b, (dir / "r18.pt").string());
  const auto sa = state_of(*a), sb = state_of(*b);
  EXPECT_EQ(r.loaded.size(), sa.size());
  for (const auto& [k, t] : sa) EXPECT_TRUE(t.equal(sb.at(k))) << k;
  a->eval();
  b->eval();
  auto x = torch::randn({1, 3, 64, 64});
  EXPECT_TRUE(a->forward(x).equal(b->forward(x)));

  // LibTorch's own reader takes the file too (it is a plain dict, as Python's torch.load sees).
  std::ifstream in(dir / "r18.pt", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(torch::pickle_load(bytes).toGenericDict().size(), sa.size());
}

TEST(Weights, ErrorListsMissingUnexpectedAndWronglyShapedKeys) {
  auto m = make_member("resnet18", small());
  NamedTensors sd;
  for (const auto& [k, t] : state_of(*m))
    if (k != "layer2.0.bn1.running_var") sd.emplace_back(k, t);
  sd.emplace_back("layer9.conv.weight", torch::zeros({1}));
  for (auto& [k, t] : sd)
    if (k == "conv1.weight") t = torch::zeros({5, 3, 7, 7});
  const std::string msg = load_error(*m, sd);
  EXPECT_NE(msg.find("weights.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing keys"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer2.0.bn1.running_var"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected keys"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer9.conv.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("conv1.weight (file [5,3,7,7], member [16,3,7,7])"), std::string::npos) << msg;

  // A file of another width names its file and the shapes.
  TempDir dir;
  auto wide = make_member("resnet18", MemberOptions{1000, 0.5, 0});
  save_state_dict(*wide, (dir / "wide.pt").string());
  try {
    load_torchvision_state_dict(*m, (dir / "wide.pt").string());
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("wide.pt"), std::string::npos) << w;
    EXPECT_NE(w.find("conv1.weight (file [32,3,7,7], member [16,3,7,7])"), std::string::npos) << w;
    EXPECT_NE(w.find("more)"), std::string::npos) << "long lists are cut, with a count: " << w;
  }
}

TEST(Weights, ToleratesAuxHeadsAndBatchCounters) {
  auto m = make_member("resnet18", small());
  NamedTensors sd;
  for (const auto& [k, t] : state_of(*m))
    if (k != "bn1.num_batches_tracked") sd.emplace_back(k, t);
  sd.emplace_back("AuxLogits.fc.weight", torch::zeros({1000, 768}));
  sd.emplace_back("aux1.conv.conv.weight", torch::zeros({128, 512, 1, 1}));
  const LoadReport r = load_state_dict(*m, sd, {}, "weights.pt");
  auto has = [&](const std::string& k) {
    return std::find(r.ignored.begin(), r.ignored.end(), k) != r.ignored.end();
  };
  EXPECT_TRUE(has("AuxLogits.fc.weight"));
  EXPECT_TRUE(has("aux1.conv.conv.weight"));
  EXPECT_TRUE(has("bn1.num_batches_tracked"));
  EXPECT_TRUE(r.missing.empty());
  EXPECT_TRUE(r.unexpected.empty());
}

TEST(Weights, SkipsClassifierWhenClassCountDiffers) {
  TempDir dir;
  const auto path = (dir / "imagenet.pt").string();
  for (const std::string name : {"resnet18", "vgg16", "squeezenet", "alexnet"}) {
    auto source = make_member(name, small(1000));
    save_state_dict(*source, path);
    auto target = make_member(name, small(2));
    const auto before = state_of(*target);

    std::string msg;
    try {
      load_torchvision_state_dict(*target, path);
    } catch (const ModelError& e) {
      msg = e.what();
    }
    EXPECT_NE(msg.find("skip_classifier_if_mismatch"), std::string::npos) << name << ": " << msg;

    LoadOptions opt;
    opt.skip_classifier_if_mismatch = true;
    const LoadReport r = load_torchvision_state_dict(*target, path, opt);
    EXPECT_EQ(r.skipped_classifier.size(), 2u) << name;  // weight and bias
    const auto src = state_of(*source), after = state_of(*target);
    for (const auto& k : r.skipped_classifier) EXPECT_TRUE(after.at(k).equal(before.at(k))) << name << " " << k;
    for (const auto& k : r.loaded) EXPECT_TRUE(after.at(k).equal(src.at(k))) << name << " " << k;
    EXPECT_EQ(r.loaded.size() + 2, after.size()) << name;
    EXPECT_EQ(target->forward(torch::randn({1, 3, 96, 96})).size(1), 2) << name;
  }
}

TEST(Weights, BadFilesNameTheFile) {
  TempDir dir;
  const auto junk = (dir / "junk.pt").string();
  std::ofstream(junk) << "not a zip";
  auto m = make_member("resnet18", small());
  for (const auto& path : {junk, (dir / "absent.pt").string()}) {
    try {
      load_torchvision_state_dict(*m, path);
      FAIL() << "expected ModelError for " << path;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(Weights, PythonTorchLoadsSavedFile) {
  GRADGATE_REQUIRE_PYTHON_REFS(refs);  // references exist only where Python torch does
  TempDir dir;
  auto m = make_member("resnet18");
  {
    torch::NoGradGuard g;
    for (auto& b : m->buffers())
      if (b.is_floating_point()) b.uniform_(0.5, 1.5);
  }
  const auto saved = (dir / "resnet18.pt").string(), out = (dir / "logits.pt").string();
  save_state_dict(*m, saved);
  const std::string cmd = std::string("/usr/bin/python3 ") + GRADGATE_TEST_PYTHON_DIR +
                          "/check_saved_state_dict.py '" + saved + "' resnet18 '" + out + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  m->eval();
  torch::NoGradGuard g;
  const auto mine = m->forward(torch::ones({1, 3, 224, 224}));
  const auto python = as_map(read_state_dict(out)).at("logits");
  EXPECT_TRUE(mine.allclose(python, 1e-4, 1e-5));
}

TEST(Weights, ReadsCheckpointWrapperAndDataParallelPrefix) {
  // {"epoch": 3, "state_dict": {"module.conv.weight": ..., ...}} as training scripts write.
  TempDir dir;
  Tiny tiny;
  c10::Dict<std::string, torch::Tensor> inner;
  for (const auto& p : tiny.named_parameters()) inner.insert("module." + p.key(), p.value().detach());
  for (const auto& b : tiny.named_buffers()) inner.insert("module." + b.key(), b.value().detach());
  c10::impl::GenericDict outer(c10::StringType::get(), c10::AnyType::get());
  outer.insert("epoch", int64_t{3});
  outer.insert("state_dict", inner);
  const auto bytes = torch::pickle_save(c10::IValue(outer));
  const auto path = (dir / "checkpoint.pt").string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  const NamedTensors sd = read_state_dict(path);
  ASSERT_EQ(sd.size(), 9u);
  EXPECT_EQ(as_map(sd).count("conv.weight"), 1u);
  Tiny other;
  EXPECT_EQ(load_torchvision_state_dict(other, path).loaded.size(), 9u);
  EXPECT_TRUE(other.named_parameters()["fc.weight"].equal(tiny.named_parameters()["fc.weight"]));
}

// Issue 13 (size): a member stored in half precision is half the file, its integer buffers
// keep their type, and it loads back (as float) exactly as the member rounded through half.
TEST(Weights, HalfPrecisionFileLoadsAsTheRoundedMember) {
  TempDir dir;
  auto a = make_member("resnet18", small());
  {
    torch::NoGradGuard g;
    for (auto& b : a->buffers())
      if (b.is_floating_point()) b.uniform_(0.5, 1.5);
  }
  save_state_dict(*a, (dir / "f32.pt").string());
  save_state_dict(*a, (dir / "f16.pt").string(), WeightStorage::Float16);
  const auto f32 = std::filesystem::file_size(dir / "f32.pt");
  const auto f16 = std::filesystem::file_size(dir / "f16.pt");
  EXPECT_LT(f16, f32 * 0.6) << f16 << " vs " << f32;

  for (const auto& [k, t] : read_state_dict((dir / "f16.pt").string()))
    EXPECT_EQ(t.scalar_type(), k.find("num_batches_tracked") != std::string::npos ? torch::kInt64 : torch::kHalf) << k;

  auto b = make_member("resnet18", small());
  load_torchvision_state_dict(*b, (dir / "f16.pt").string());
  round_to_storage(*a, WeightStorage::Float16);
  const auto sa = state_of(*a), sb = state_of(*b);
  for (const auto& [k, t] : sa) {
    EXPECT_EQ(sb.at(k).scalar_type(), t.scalar_type()) << k;
    EXPECT_TRUE(t.equal(sb.at(k))) << k;
  }
}

// Issue 13 (size): int8 storage keeps convolution and linear weights as int8 with one scale per
// output channel (about a quarter of float32), loads back as float exactly as the member rounded
// through it, and each weight is within half a step of its channel's scale.
TEST(Weights, Int8FileLoadsAsTheRoundedMember) {
  TempDir dir;
  auto a = make_member("resnet18", small());
  {
    torch::NoGradGuard g;
    for (auto& b : a->buffers())
      if (b.is_floating_point()) b.uniform_(0.5, 1.5);
  }
  const auto original = state_of(*a);
  save_state_dict(*a, (dir / "f32.pt").string());
  save_state_dict(*a, (dir / "i8.pt").string(), WeightStorage::Int8);
  const auto f32 = std::filesystem::file_size(dir / "f32.pt");
  const auto i8 = std::filesystem::file_size(dir / "i8.pt");
  EXPECT_LT(i8, f32 * 0.35) << i8 << " vs " << f32;

  const auto read = as_map(read_state_dict((dir / "i8.pt").string()));
  EXPECT_EQ(read.size(), original.size());  // the scales are folded back in
  EXPECT_EQ(read.at("conv1.weight").scalar_type(), torch::kFloat32);
  EXPECT_EQ(read.at("bn1.weight").scalar_type(), torch::kHalf);

  auto b = make_member("resnet18", small());
  load_torchvision_state_dict(*b, (dir / "i8.pt").string());
  round_to_storage(*a, WeightStorage::Int8);
  const auto sa = state_of(*a), sb = state_of(*b);
  for (const auto& [k, t] : sa) EXPECT_TRUE(t.equal(sb.at(k))) << k;

  for (const std::string key : {"conv1.weight", "layer1.0.conv2.weight", "fc.weight"}) {
    const auto w = original.at(key).reshape({original.at(key).size(0), -1});
    const auto step = w.abs().amax(1, /*keepdim=*/true) / 127.0;
    const auto err = (sb.at(key).reshape_as(w) - w).abs();
    EXPECT_TRUE((err <= step * 0.5 + 1e-7).all().item<bool>()) << key;
    EXPECT_GT(err.max().item<float>(), 0.0f) << key << ": int8 cannot be exact for random weights";
  }
}

// A damaged int8 file: a scale of the wrong length, or a scale without its tensor, names the
// file and the entry instead of loading garbage.
TEST(Weights, Int8FileWithAMismatchedScaleIsRefused) {
  TempDir dir;
  const auto write = [&](const std::string& name, const c10::Dict<std::string, torch::Tensor>& d) {
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(d));
    std::ofstream((dir / name).string(), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return (dir / name).string();
  };
  c10::Dict<std::string, torch::Tensor> wrong_length, orphan;
  wrong_length.insert("fc.weight", torch::ones({4, 3}, torch::kChar));
  wrong_length.insert("fc.weight:int8_scale", torch::ones({3}));
  orphan.insert("fc.weight", torch::ones({4, 3}));
  orphan.insert("conv.weight:int8_scale", torch::ones({4}));
  for (const auto& [path, needle] : {std::pair{write("wrong.pt", wrong_length), std::string("'fc.weight'")},
                                     std::pair{write("orphan.pt", orphan), std::string("conv.weight:int8_scale")}}) {
    try {
      read_state_dict(path);
      FAIL() << "expected ModelError for " << path;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

// Transfer between presets whose alexnet/vgg classifier_width differ (a folder trained before
// the compact preset narrowed them): the hidden classifier layers start fresh, the
// convolutions load.
TEST(Weights, TransferKeepsHiddenClassifierLayersOfAnotherWidthFresh) {
  TempDir dir;
  const auto path = (dir / "wide_head.pt").string();
  for (const std::string name : {"vgg16", "alexnet"}) {
    MemberOptions wide = small(2), narrow = small(2);
    narrow.classifier_width = 0.0625;
    auto source = make_member(name, wide);
    save_state_dict(*source, path);
    auto target = make_member(name, narrow);
    const auto before = state_of(*target);
    EXPECT_THROW(load_torchvision_state_dict(*target, path), ModelError) << name;
    LoadOptions opt;
    opt.skip_classifier_if_mismatch = true;
    const LoadReport r = load_torchvision_state_dict(*target, path, opt);
    EXPECT_EQ(r.skipped_classifier.size(), 6u) << name;  // three linear layers, weight and bias
    const auto src = state_of(*source), after = state_of(*target);
    for (const auto& k : r.skipped_classifier) EXPECT_TRUE(after.at(k).equal(before.at(k))) << name << " " << k;
    for (const auto& k : r.loaded) EXPECT_TRUE(after.at(k).equal(src.at(k))) << name << " " << k;
    EXPECT_EQ(r.loaded.size() + 6, after.size()) << name;
  }
}
