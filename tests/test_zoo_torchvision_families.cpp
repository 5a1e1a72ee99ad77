// The torchvision-style families (alexnet, vgg, squeezenet, resnet) at a small width:
// the features()/head() split, the feature layer, and reset_classifier.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "gradgate/zoo/registry.h"

using namespace gradgate;

namespace {

std::set<std::string> names_of(torch::nn::Module& m) {
  std::set<std::string> s;
  for (const auto& p : m.named_parameters()) s.insert(p.key());
  for (const auto& b : m.named_buffers()) s.insert(b.key());
  return s;
}

class TorchvisionFamily : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionFamily, SplitComposesToForwardAndHeadAloneHasGradients) {
  const std::string name = GetParam();
  torch::manual_seed(0);
  auto m = make_member(name, MemberOptions{3, 0.25, 96});
  m->eval();
  EXPECT_EQ(m->feature_layer(), member_info(name).feature_layer);
  EXPECT_EQ(m->num_classes(), 3);
  const auto x = torch::randn({2, 3, 96, 96});
  torch::Tensor a;
  {
    torch::NoGradGuard no_grad;
    a = m->features(x);
  }
  ASSERT_EQ(a.dim(), 4);
  EXPECT_GT(a.size(2), 1) << "feature map must keep spatial extent for Grad-CAM";
  EXPECT_GE(a.min().item<float>(), 0.0f) << "the feature layer is a ReLU output";
  auto leaf = a.detach().requires_grad_(true);
  auto y = m->head(leaf);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3}));
  y.select(1, 0).sum().backward();
  ASSERT_TRUE(leaf.grad().defined());
  EXPECT_TRUE(m->forward(x).allclose(y.detach(), 1e-5, 1e-6));
}

TEST_P(TorchvisionFamily, ResetClassifierKeepsNamesAndTrunk) {
  const std::string name = GetParam();
  auto m = make_member(name, MemberOptions{1000, 0.25, 96});
  const auto names = names_of(*m);
  const std::string first = m->named_parameters().keys().front();  // the stem, not the classifier
  const auto trunk = m->named_parameters()[first];
  m->reset_classifier(4);
  EXPECT_EQ(m->num_classes(), 4);
  EXPECT_EQ(names_of(*m), names);
  EXPECT_TRUE(m->named_parameters()[first].is_same(trunk)) << first;
  m->eval();
  EXPECT_EQ(m->forward(torch::randn({1, 3, 96, 96})).size(1), 4);
}

INSTANTIATE_TEST_SUITE_P(Zoo, TorchvisionFamily,
                         ::testing::Values("alexnet", "vgg16", "vgg19", "squeezenet", "resnet18",
                                           "resnet50", "resnet101"),
                         [](const auto& info) { return info.param; });

}  // namespace
