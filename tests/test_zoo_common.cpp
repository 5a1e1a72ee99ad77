// Properties every member of the zoo must have, checked for all 19 registry names at the
// `tiny` preset (width 0.125; input side 64, 96 for googlenet/xception/nasnet, 160 for the
// inception-v3 family): the Grad-CAM feature map is wider than 1x1, forward() is
// head(features()), reset_classifier() changes the output count, and a few Adam steps on a
// small fixed batch lower the training loss. Sizes come from config/networks.yaml.
#include <gtest/gtest.h>

#include <string>

#include "gradgate/zoo/seeded_dropout.h"
#include "gradgate/zoo/registry.h"
#include "test_util.h"

using namespace gradgate;

namespace {

Member make_tiny(const std::string& name, int64_t num_classes) {
  MemberOptions o;
  o.num_classes = num_classes;
  const PresetSpec tiny = gradgate::testing::preset_of(name);
  o.width = tiny.width;
  o.input_side = tiny.input_side;
  return make_member(name, o);
}

torch::Tensor batch(const std::string& name, int64_t n) {
  const int64_t side = gradgate::testing::preset_of(name).input_side;
  return torch::randn({n, 3, side, side});
}

class ZooCommon : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { torch::manual_seed(7); }
};

// One test for the structural checks (each ctest process pays ~0.7 s of LibTorch start-up).
TEST_P(ZooCommon, SplitsAtTheFeatureLayerAndResetsItsClassifier) {
  const std::string name = GetParam();
  auto m = make_tiny(name, 5);
  m->eval();
  torch::NoGradGuard no_grad;
  const auto x = batch(name, 2);

  // Feature layer: the registry's, a real module, and a map wider than 1x1 for Grad-CAM.
  EXPECT_EQ(m->feature_layer(), member_info(name).feature_layer);
  bool found = false;
  for (const auto& item : m->named_modules()) found = found || item.key() == m->feature_layer();
  EXPECT_TRUE(found) << name << " has no module named '" << m->feature_layer() << "'";
  const auto a = m->features(x);
  ASSERT_EQ(a.dim(), 4) << name;
  EXPECT_EQ(a.size(0), 2);
  EXPECT_GT(a.size(2), 1) << name << " feature map " << a.sizes();
  EXPECT_GT(a.size(3), 1) << name << " feature map " << a.sizes();

  // forward() is head(features()).
  const auto y = m->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 5})) << name;
  EXPECT_EQ(m->num_classes(), 5);
  EXPECT_TRUE(torch::allclose(y, m->head(a), 1e-5, 1e-6)) << name << ": forward != head(features)";

  // reset_classifier(n): n outputs, and the new classifier's parameters are registered
  // (same count as a member built for n classes), so training updates them.
  m->reset_classifier(3);
  m->eval();
  EXPECT_EQ(m->num_classes(), 3);
  EXPECT_EQ(m->forward(x).sizes(), (std::vector<int64_t>{2, 3})) << name;
  int64_t after = 0;
  for (const auto& p : m->parameters()) after += p.numel();
  int64_t expected = 0;
  for (const auto& p : make_tiny(name, 3)->parameters()) expected += p.numel();
  EXPECT_EQ(after, expected) << name;
}

TEST_P(ZooCommon, AFewAdamStepsLowerTheTrainingLoss) {
  const std::string name = GetParam();
  auto m = make_tiny(name, 2);
  m->train();
  const auto x = batch(name, 4);
  const auto target = torch::tensor({0, 1, 0, 1}, torch::kLong);
  torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(1e-3));
  auto loss_now = [&] { return torch::nn::functional::cross_entropy(m->forward(x), target); };
  // Measured before and after in train mode (batch statistics for BatchNorm) with dropout
  // switched off, so the comparison sees the optimisation, not dropout noise (alexnet and
  // vgg heads have dropout).
  auto measured_loss = [&] {
    torch::NoGradGuard no_grad;
    for (auto& mod : m->modules(/*include_self=*/false))
      if (dynamic_cast<torch::nn::DropoutImpl*>(mod.get()) || dynamic_cast<SeededDropoutImpl*>(mod.get()))
        mod->eval();
    const double loss = loss_now().item<double>();
    m->train();
    return loss;
  };
  const double first = measured_loss();
  torch::manual_seed(0);
  for (int step = 0; step < 8; ++step) {
    opt.zero_grad();
    loss_now().backward();
    opt.step();
  }
  const double last = measured_loss();
  EXPECT_LT(last, first) << name << ": loss " << first << " -> " << last;
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (auto& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(AllMembers, ZooCommon, ::testing::ValuesIn(member_names()), param_name);

}  // namespace
