// Parity with Python torchvision: the same state dict, the same input, the same logits.
// References come from tests/python/make_references.py (a ctest fixture).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "gradgate/zoo/registry.h"
#include "gradgate/zoo/weights.h"
#include "test_util.h"

using namespace gradgate;

namespace {

std::map<std::string, torch::Tensor> read_io(const std::filesystem::path& refs, const std::string& name) {
  std::map<std::string, torch::Tensor> m;
  for (const auto& [k, t] : read_state_dict((refs / (name + ".io.pt")).string())) m[k] = t;
  return m;
}

int64_t parameter_count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, LogitsMatchTorchvision) {
  GRADGATE_REQUIRE_PYTHON_REFS(refs);
  const std::string name = GetParam();
  auto io = read_io(refs, name);
  auto m = make_member(name);
  load_torchvision_state_dict(*m, (refs / (name + ".pt")).string());
  m->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor y = m->forward(io.at("input"));
  const torch::Tensor& ref = io.at("logits");
  ASSERT_EQ(y.sizes(), ref.sizes());
  ASSERT_GT(ref.abs().max().item<double>(), 0.0) << "degenerate reference logits";
  const double rel = (y - ref).abs().max().item<double>() / ref.abs().max().item<double>();
  RecordProperty("max_relative_error", std::to_string(rel));
  std::cout << "[parity] " << name << " max |diff| / max |ref| = " << rel << "\n";
  EXPECT_LT(rel, 1e-4) << name;
}

TEST_P(Parity, ParameterCountMatchesTorchvision) {
  GRADGATE_REQUIRE_PYTHON_REFS(refs);
  const std::string name = GetParam();
  auto m = make_member(name, MemberOptions{1000, 1.0, 0});
  const int64_t expected = read_io(refs, name).at("param_count").item<int64_t>();
  std::cout << "[parity] " << name << " parameters: " << parameter_count(*m) << " (torchvision "
            << expected << ")\n";
  EXPECT_EQ(parameter_count(*m), expected) << name;
}

INSTANTIATE_TEST_SUITE_P(Zoo, Parity,
                         ::testing::Values("alexnet", "vgg16", "vgg19", "squeezenet", "googlenet",
                                           "inceptionv3", "resnet18", "resnet50", "resnet101",
                                           "densenet201", "mobilenetv2", "shufflenet"),
                         [](const auto& info) { return info.param; });

}  // namespace
