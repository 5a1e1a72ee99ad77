// Grad-CAM engine: head-only Grad-CAM equals full-graph Grad-CAM, known answers on a
// GAP+linear network (CAM), batch = one at a time, empty maps flagged without NaN.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>
#include <string>

#include "cam_test_members.h"
#include "gradgate/error.h"
#include "gradgate/gate.h"
#include "gradgate/gradcam.h"
#include "test_util.h"
#include "gradgate/zoo/registry.h"

using namespace gradgate;
using gradgate::testing::GapLinear;
using gradgate::testing::SmallCnn;

namespace {

// Reference: Grad-CAM through the full graph (x requires grad, the trunk records a graph),
// differentiated w.r.t. A with autograd::grad; no hooks, same combination formula.
torch::Tensor full_graph_cam(MemberImpl& m, const torch::Tensor& x, CamMethod method,
                             torch::Tensor* targets_out = nullptr,
                             const std::vector<int64_t>& named = {}) {
  m.eval();
  torch::AutoGradMode grad_on(true);
  auto xg = x.clone().requires_grad_(true);
  auto a = m.features(xg);
  EXPECT_TRUE(a.requires_grad());
  auto logits = m.head(a);
  auto targets = named.empty() ? logits.detach().argmax(1) : torch::tensor(named);
  auto score = logits.gather(1, targets.unsqueeze(1)).sum();
  auto g = torch::autograd::grad({score}, {a})[0];
  if (targets_out) *targets_out = targets;
  return cam_from_gradients(a.detach(), g, method).detach();
}

// max|got - want| <= rel * max|want| (and exact zeros when want is all zero).
void expect_close(const torch::Tensor& got, const torch::Tensor& want, double rel,
                  const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double scale = want.abs().max().item<double>();
  const double diff = (got - want).abs().max().item<double>();
  EXPECT_LE(diff, rel * scale) << what << ": max |diff| " << diff << ", max |want| " << scale;
}


}  // namespace

// ---- (a) head-only == full graph ----

TEST(GradCam, HeadOnlyEqualsFullGraphOnHandBuiltCnn) {
  torch::manual_seed(1);
  SmallCnn net(3);
  net->train();  // compute_cam must switch to eval and back
  const auto x = torch::randn({3, 3, 32, 32});
  for (auto method : {CamMethod::GradCam, CamMethod::GradCamPlusPlus, CamMethod::HiResCam}) {
    net->train();
    const auto got = compute_cam(*net, x, {}, {method});
    EXPECT_TRUE(net->is_training()) << "compute_cam must restore the member's mode";
    torch::Tensor targets;
    const auto want = full_graph_cam(*net, x, method, &targets);
    EXPECT_TRUE(torch::equal(got.targets, targets));
    expect_close(got.low_res, want, 1e-5, to_string(method));
    EXPECT_GT(want.max().item<double>(), 0.0) << "test needs a non-trivial map";
    // Logits are those of an eval-mode forward.
    net->eval();
    torch::NoGradGuard ng;
    expect_close(got.logits, net->forward(x), 1e-6, "logits");
    expect_close(got.probs, torch::softmax(net->forward(x), 1), 1e-6, "probs");
    const auto pv = probabilities(got);
    ASSERT_EQ(pv.size(), 3u);
    ASSERT_EQ(pv[2].size(), 3u);
    EXPECT_FLOAT_EQ(static_cast<float>(pv[2][1]), got.probs[2][1].item<float>());
  }
}

// A member of three classes at its tiny preset.
MemberOptions tiny_options(const std::string& name) {
  MemberOptions o;
  o.num_classes = 3;
  const PresetSpec tiny = gradgate::testing::preset_of(name);
  o.width = tiny.width;
  o.input_side = tiny.input_side;
  return o;
}

class GradCamEveryMember : public ::testing::TestWithParam<std::string> {};

TEST_P(GradCamEveryMember, HeadOnlyEqualsFullGraphAtTinyPreset) {
  const std::string name = GetParam();
  const MemberOptions o = tiny_options(name);
  torch::manual_seed(7);
  Member m = make_member(name, o);
  const auto x = torch::randn({2, 3, o.input_side, o.input_side});
  const auto got = compute_cam(*m, x);
  torch::Tensor targets;
  const auto want = full_graph_cam(*m, x, CamMethod::GradCam, &targets);
  EXPECT_TRUE(torch::equal(got.targets, targets)) << name;
  expect_close(got.low_res, want, 1e-5, name);
  ASSERT_EQ(got.low_res.dim(), 3);
  EXPECT_GT(got.low_res.size(1) * got.low_res.size(2), 1) << name << ": map must not be 1x1";
  EXPECT_FALSE(torch::isnan(got.low_res).any().item<bool>()) << name;
  // A random-init member's predicted-class map may be all zero, which would make the
  // comparison trivial; every named class is compared too, and at least one map must be
  // non-empty.
  double positive = got.low_res.gt(0).to(torch::kFloat64).mean().item<double>();
  for (int64_t k = 0; k < o.num_classes; ++k) {
    const auto named = compute_cam(*m, x, {k, k});
    const auto ref = full_graph_cam(*m, x, CamMethod::GradCam, nullptr, {k, k});
    expect_close(named.low_res, ref, 1e-5, name + " class " + std::to_string(k));
    positive = std::max(positive, named.low_res.gt(0).to(torch::kFloat64).mean().item<double>());
  }
  RecordProperty("positive_fraction", std::to_string(positive));
  EXPECT_GT(positive, 0.0) << name << ": every Grad-CAM map is empty; the comparison says nothing";
}

// The fine layer: features() is fine_tail(fine_features()) for every member, and the map at
// the fine layer equals Grad-CAM through the full graph w.r.t. fine_features' output.
TEST_P(GradCamEveryMember, FineLayerSplitsFeaturesAndMatchesFullGraph) {
  const std::string name = GetParam();
  const MemberOptions o = tiny_options(name);
  torch::manual_seed(11);
  Member m = make_member(name, o);
  m->eval();
  const auto x = torch::randn({2, 3, o.input_side, o.input_side});
  {
    torch::NoGradGuard no_grad;
    const auto whole = m->features(x);
    const auto split = m->fine_tail(m->fine_features(x));
    expect_close(split, whole, 1e-6, name + " features vs fine_tail(fine_features)");
  }
  const auto got = compute_cam(*m, x, {}, CamOptions{CamMethod::GradCam, CamLayer::Fine});
  torch::AutoGradMode grad_on(true);
  auto a = m->fine_features(x.clone().requires_grad_(true));
  auto logits = m->head(m->fine_tail(a.clone()));
  const auto targets = logits.detach().argmax(1);
  const auto g = torch::autograd::grad({logits.gather(1, targets.unsqueeze(1)).sum()}, {a})[0];
  const auto want = cam_from_gradients(a.detach(), g, CamMethod::GradCam);
  EXPECT_TRUE(torch::equal(got.targets, targets)) << name;
  expect_close(got.low_res, want, 1e-5, name + " fine map");
  // The fine grid is never coarser than the study's.
  const auto study = compute_cam(*m, x);
  EXPECT_GE(got.low_res.size(1), study.low_res.size(1)) << name;
  EXPECT_EQ(m->fine_layer() == m->feature_layer(), got.low_res.sizes() == study.low_res.sizes()) << name;
}

// Saliency: the squared input gradient of the explained class through forward() (the whole
// member, not features/head), summed over channels, at the input's size.
TEST_P(GradCamEveryMember, SaliencyIsTheInputGradientAtTheInputSize) {
  const std::string name = GetParam();
  const MemberOptions o = tiny_options(name);
  torch::manual_seed(13);
  Member m = make_member(name, o);
  m->train();
  const auto x = torch::randn({2, 3, o.input_side, o.input_side});
  const auto got = compute_cam(*m, x, {kPredictedClass, 1}, CamOptions{CamMethod::Saliency});
  EXPECT_TRUE(m->is_training()) << name << ": compute_cam must restore the member's mode";
  m->eval();
  torch::AutoGradMode grad_on(true);
  auto xg = x.clone().requires_grad_(true);
  const auto logits = m->forward(xg);
  auto targets = logits.detach().argmax(1);
  targets[1].fill_(1);
  const auto g = torch::autograd::grad({logits.gather(1, targets.unsqueeze(1)).sum()}, {xg})[0];
  const auto want = g.pow(2).sum(1);
  EXPECT_TRUE(torch::equal(got.targets, targets)) << name;
  ASSERT_EQ(got.low_res.sizes(), (std::vector<int64_t>{2, o.input_side, o.input_side})) << name;
  expect_close(got.low_res, want, 1e-4, name + " saliency");
  expect_close(got.logits, logits.detach(), 1e-5, name + " logits");
  EXPECT_GT(want.max().item<double>(), 0.0) << name << ": an all-zero gradient says nothing";
  EXPECT_FALSE(got.empty[0] || got.empty[1]) << name;
  // The domain check's pooled features are the study layer's, as for Grad-CAM.
  const auto cam = compute_cam(*m, x);
  expect_close(got.pooled, cam.pooled, 1e-5, name + " pooled");
}

INSTANTIATE_TEST_SUITE_P(Zoo, GradCamEveryMember, ::testing::ValuesIn(member_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string s = info.param;
                           for (auto& c : s)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

// ---- (b) GAP + linear: Grad-CAM = CAM / (h*w) ----

TEST(GradCam, GapLinearEqualsCamOverArea) {
  torch::manual_seed(2);
  GapLinear net(6, 4);
  const auto x = torch::randn({2, 3, 20, 28});
  const auto got = compute_cam(*net, x, {kPredictedClass, 2});
  torch::NoGradGuard ng;
  const auto a = net->features(x);  // [2,6,10,14]
  const double hw = static_cast<double>(a.size(2) * a.size(3));
  ASSERT_EQ(hw, 140.0);
  const auto w = net->fc->weight;  // [4,6]
  ASSERT_EQ(got.targets[1].item<int64_t>(), 2);
  EXPECT_EQ(got.targets[0].item<int64_t>(), got.logits[0].argmax().item<int64_t>());
  for (int64_t n = 0; n < 2; ++n) {
    const int64_t k = got.targets[n].item<int64_t>();
    // CAM (Zhou et al. 2016): ReLU(sum_c W[k,c] A_c).
    const auto cam = (w[k].view({6, 1, 1}) * a[n]).sum(0).relu();
    expect_close(got.low_res[n], cam / hw, 1e-5, "Grad-CAM = CAM/(h*w)");
    expect_close(got.low_res[n] * hw, cam, 1e-5, "Grad-CAM*(h*w) = CAM");
  }
}

// ---- (c) batch == one image at a time, per-image output sizes ----

TEST(GradCam, BatchEqualsOneAtATimeWithPerImageSizes) {
  torch::manual_seed(3);
  SmallCnn net(3);
  const auto x = torch::randn({4, 3, 32, 32});
  const std::vector<cv::Size> sizes = {{50, 40}, {32, 32}, {100, 30}, {17, 77}};
  const std::vector<int64_t> targets = {kPredictedClass, 0, 2, kPredictedClass};
  const auto batch = grad_cam(*net, x, sizes, targets);
  ASSERT_EQ(batch.maps.size(), 4u);
  for (int64_t i = 0; i < 4; ++i) {
    const auto one = grad_cam(*net, x.slice(0, i, i + 1), {sizes[i]}, {targets[i]});
    EXPECT_EQ(one.batch.targets[0].item<int64_t>(), batch.batch.targets[i].item<int64_t>());
    expect_close(batch.batch.low_res[i], one.batch.low_res[0], 1e-5, "low-res map");
    expect_close(batch.batch.probs[i], one.batch.probs[0], 1e-5, "probs");
    EXPECT_EQ(batch.batch.empty[i], one.batch.empty[0]);
    const cv::Mat& m = batch.maps[i];
    ASSERT_EQ(m.size(), sizes[i]);
    ASSERT_EQ(m.type(), CV_32FC1);
    double lo, hi;
    cv::minMaxLoc(m, &lo, &hi);
    EXPECT_GE(lo, 0.0);
    EXPECT_LE(cv::norm(m, one.maps[0], cv::NORM_INF), 1e-5 * std::max(hi, 1e-30));
  }
  // Named classes are honoured.
  EXPECT_EQ(batch.batch.targets[1].item<int64_t>(), 0);
  EXPECT_EQ(batch.batch.targets[2].item<int64_t>(), 2);
}

TEST(GradCam, UpsampleIsBilinearAndKeepsSize) {
  // A 2x2 map upsampled to 4x4 with pixel-centre (align_corners=false) bilinear weights.
  const auto low = torch::tensor({0.f, 4.f, 8.f, 12.f}).view({2, 2});
  const cv::Mat up = upsample_map(low, cv::Size(4, 4));
  ASSERT_EQ(up.size(), cv::Size(4, 4));
  const auto want = torch::nn::functional::interpolate(
      low.view({1, 1, 2, 2}),
      torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{4, 4})
          .mode(torch::kBilinear).align_corners(false));
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      EXPECT_NEAR(up.at<float>(r, c), want[0][0][r][c].item<float>(), 1e-5) << r << "," << c;
  // Same size: a copy, not a view of the tensor's memory.
  const cv::Mat same = upsample_map(low, cv::Size(2, 2));
  EXPECT_EQ(same.at<float>(1, 1), 12.f);
}

// ---- (d) zero gradients / all-negative evidence: flagged, no NaN ----

TEST(GradCam, ZeroGradientIsFlaggedEmptyWithoutNaN) {
  torch::manual_seed(4);
  GapLinear net(5, 3);
  {
    torch::NoGradGuard ng;
    net->fc->weight.zero_();  // scores do not depend on A: dY/dA = 0
  }
  const auto x = torch::randn({3, 3, 16, 16});
  for (auto method : {CamMethod::GradCam, CamMethod::GradCamPlusPlus, CamMethod::HiResCam}) {
    const auto r = grad_cam(*net, x, {{40, 30}, {16, 16}, {8, 9}}, {}, {method});
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(r.batch.empty[i]) << to_string(method);
      EXPECT_TRUE(torch::isfinite(r.batch.low_res).all().item<bool>());
      EXPECT_EQ(cv::countNonZero(r.maps[i]), 0);
      EXPECT_TRUE(cv::checkRange(normalized_for_display(r.maps[i])));
      // The gate reports it instead of dividing by zero.
      const cv::Mat mask = cv::Mat::ones(r.maps[i].size(), CV_8UC1);
      EXPECT_EQ(lung_share(r.maps[i], mask).status, GateStatus::EmptyMap);
    }
    EXPECT_TRUE(torch::isfinite(r.batch.probs).all().item<bool>());
  }
}

TEST(GradCam, AllNegativeEvidenceIsFlaggedEmpty) {
  torch::manual_seed(5);
  GapLinear net(5, 2);
  {
    torch::NoGradGuard ng;
    net->fc->weight.abs_().neg_();  // every channel (A >= 0 after ReLU) lowers every score
  }
  const auto x = torch::randn({2, 3, 16, 16});
  for (auto method : {CamMethod::GradCam, CamMethod::GradCamPlusPlus, CamMethod::HiResCam}) {
    const auto r = compute_cam(*net, x, {0, 1}, {method});
    EXPECT_TRUE(r.empty[0] && r.empty[1]) << to_string(method);
    EXPECT_EQ(r.low_res.abs().sum().item<float>(), 0.f);
  }
}

TEST(GradCam, NonEmptyMapIsNotFlagged) {
  torch::manual_seed(6);
  GapLinear net(5, 2);
  {
    torch::NoGradGuard ng;
    net->fc->weight.abs_();  // positive evidence everywhere A > 0
  }
  const auto r = compute_cam(*net, torch::randn({2, 3, 16, 16}));
  EXPECT_FALSE(r.empty[0]);
  EXPECT_FALSE(r.empty[1]);
}

// ---- (e) Grad-CAM++ and HiResCAM known answers on GAP + linear ----

TEST(GradCam, HiResCamOnGapLinearIsCamOverArea) {
  torch::manual_seed(8);
  GapLinear net(6, 3);
  const auto x = torch::randn({2, 3, 18, 18});
  const auto hires = compute_cam(*net, x, {}, {CamMethod::HiResCam});
  const auto grad = compute_cam(*net, x, {}, {CamMethod::GradCam});
  torch::NoGradGuard ng;
  const auto a = net->features(x);
  const double hw = static_cast<double>(a.size(2) * a.size(3));
  for (int64_t n = 0; n < 2; ++n) {
    const int64_t k = hires.targets[n].item<int64_t>();
    const auto cam = (net->fc->weight[k].view({6, 1, 1}) * a[n]).sum(0).relu();
    expect_close(hires.low_res[n], cam / hw, 1e-5, "HiResCAM = CAM/(h*w)");
  }
  expect_close(hires.low_res, grad.low_res, 1e-5, "HiResCAM = Grad-CAM when dY/dA is constant");
}

TEST(GradCam, GradCamPlusPlusOnGapLinearMatchesClosedForm) {
  torch::manual_seed(9);
  const int64_t C = 6;
  GapLinear net(C, 3);
  const auto x = torch::randn({2, 3, 18, 18});
  const auto r = compute_cam(*net, x, {}, {CamMethod::GradCamPlusPlus});
  torch::NoGradGuard ng;
  const auto a = net->features(x).to(torch::kFloat64);
  const double hw = static_cast<double>(a.size(2) * a.size(3));
  for (int64_t n = 0; n < 2; ++n) {
    const int64_t k = r.targets[n].item<int64_t>();
    // dY/dA = g = W[k,c]/(h*w) everywhere, so alpha is constant over space:
    //   alpha_c = g^2 / (2 g^2 + S_c g^3 + eps),  S_c = sum_ij A_c,  (alpha = 0 where g = 0)
    //   w_c     = sum_ij ReLU(g) alpha_c = h*w * ReLU(g) * alpha_c
    auto expected = torch::zeros({a.size(2), a.size(3)}, torch::kFloat64);
    for (int64_t c = 0; c < C; ++c) {
      const double g = net->fc->weight[k][c].item<double>() / hw;
      const double s = a[n][c].sum().item<double>();
      const double alpha = g == 0 ? 0.0 : g * g / (2 * g * g + s * g * g * g + 1e-6);
      const double wc = hw * std::max(g, 0.0) * alpha;
      expected += wc * a[n][c];
    }
    expected = expected.relu().to(torch::kFloat32);
    expect_close(r.low_res[n], expected, 1e-4, "Grad-CAM++ closed form");
  }
}

TEST(GradCam, GradCamPlusPlusFollowsTheOnlyPositiveChannel) {
  // Only channel 2 raises class 0: the Grad-CAM++ map is a positive multiple of A_2.
  torch::manual_seed(10);
  GapLinear net(4, 2);
  {
    torch::NoGradGuard ng;
    net->fc->weight.fill_(-0.5);
    net->fc->weight[0][2].fill_(0.8);
  }
  const auto x = torch::randn({1, 3, 16, 16});
  const auto r = compute_cam(*net, x, {0}, {CamMethod::GradCamPlusPlus});
  torch::NoGradGuard ng;
  const auto a2 = net->features(x)[0][2];
  ASSERT_GT(a2.max().item<float>(), 0.f);
  const auto ratio = r.low_res[0].sum() / a2.sum();
  EXPECT_GT(ratio.item<float>(), 0.f);
  expect_close(r.low_res[0], a2 * ratio, 1e-5, "Grad-CAM++ ~ A_2");
}

// ---- argument checking ----

TEST(GradCam, RejectsBadTargetsAndShapes) {
  torch::manual_seed(11);
  GapLinear net(4, 3);
  const auto x = torch::randn({2, 3, 16, 16});
  EXPECT_THROW(compute_cam(*net, x, {0}), std::invalid_argument);       // wrong count
  EXPECT_THROW(compute_cam(*net, x, {0, 3}), std::invalid_argument);    // class out of range
  EXPECT_THROW(compute_cam(*net, x, {-2, 0}), std::invalid_argument);   // negative, not -1
  EXPECT_THROW(compute_cam(*net, x[0]), std::invalid_argument);         // not a batch
  EXPECT_THROW(grad_cam(*net, x, {{4, 4}}), std::invalid_argument);     // sizes count
  EXPECT_EQ(cam_method_from_string("GradCAM++"), CamMethod::GradCamPlusPlus);
  EXPECT_EQ(cam_method_from_string("hirescam"), CamMethod::HiResCam);
  EXPECT_THROW(cam_method_from_string("scorecam"), ConfigError);
}

TEST(GradCam, WorksUnderCallersNoGradGuardAndLeavesParameterGradsAlone) {
  torch::manual_seed(12);
  GapLinear net(4, 3);
  const auto x = torch::randn({2, 3, 16, 16});
  const auto ref = compute_cam(*net, x);
  torch::NoGradGuard ng;  // an inference caller
  const auto r = compute_cam(*net, x);
  EXPECT_TRUE(torch::equal(r.low_res, ref.low_res));
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
}

// A member that reads only the left half of its input: its saliency puts exactly zero mass on
// the right half, where Grad-CAM's coarse grid cannot say so. The gate's share against a mask
// of the left half is then 1.
TEST(GradCam, SaliencyOfAMemberBlindToTheRightHalfIsZeroThere) {
  struct LeftHalfImpl : MemberImpl {
    torch::nn::Conv2d conv{torch::nn::Conv2dOptions(3, 4, 3).padding(1)};
    torch::nn::Linear fc{4, 2};
    LeftHalfImpl() {
      register_module("conv", conv);
      register_module("fc", fc);
    }
    torch::Tensor features(torch::Tensor x) override {
      return torch::tanh(conv(x.narrow(3, 0, x.size(3) / 2)));
    }
    torch::Tensor head(torch::Tensor a) override { return fc(a.mean({2, 3})); }
    void reset_classifier(int64_t) override {}
    int64_t num_classes() const override { return 2; }
    std::string feature_layer() const override { return "conv"; }
  };
  torch::manual_seed(3);
  auto net = std::make_shared<LeftHalfImpl>();
  const auto x = torch::randn({2, 3, 16, 16});
  const auto r = compute_cam(*net, x, {}, CamOptions{CamMethod::Saliency});
  ASSERT_EQ(r.low_res.sizes(), (std::vector<int64_t>{2, 16, 16}));
  EXPECT_EQ(r.low_res.narrow(2, 8, 8).abs().max().item<float>(), 0.0f);
  EXPECT_GT(r.low_res.narrow(2, 0, 8).sum().item<float>(), 0.0f);
  cv::Mat mask = cv::Mat::zeros(16, 16, CV_8UC1);
  mask(cv::Rect(0, 0, 8, 16)).setTo(255);
  const torch::Tensor m0 = r.low_res[0].contiguous();
  const cv::Mat map(16, 16, CV_32FC1, m0.data_ptr<float>());
  const LungShare s = lung_share(map, mask);
  EXPECT_EQ(s.status, GateStatus::Ok);
  EXPECT_NEAR(s.share, 1.0, 1e-9);
  EXPECT_NEAR(s.lift, 2.0, 1e-9);
  EXPECT_THROW(cam_from_gradients(torch::zeros({1, 1, 2, 2}), torch::zeros({1, 1, 2, 2}), CamMethod::Saliency),
               std::invalid_argument);
}
