// The lung penalty of ensemble-train (--lung-penalty): the outside-lung share of a Grad-CAM
// map on known maps, its gradient, and the masks the feeder hands it (moved with the image by
// the same augmentation).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/train_step.h"
#include "test_util.h"
#include "train/train_data.h"

using namespace gradgate;
using gradgate::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// logits = linear(global average of a): Grad-CAM's weights are then the linear layer's rows
// over h*w, so the map is a known sum of channels.
torch::Tensor gap_head(const torch::Tensor& a, const torch::Tensor& w) {
  return torch::matmul(a.mean({2, 3}), w.t());
}

}  // namespace

// Evidence all inside the mask: share 0. The same evidence with the mask moved off it: share 1.
// A uniform map: the share is the outside area. No mask: 0 whatever the map.
TEST(LungPenalty, OutsideShareOfKnownMaps) {
  const int64_t h = 4, w = 4;
  auto a = torch::zeros({3, 1, h, w});
  a[0].index_put_({0, torch::indexing::Slice(1, 3), torch::indexing::Slice(1, 3)}, 1.0);  // centre
  a[1].index_put_({0, torch::indexing::Slice(1, 3), torch::indexing::Slice(1, 3)}, 1.0);
  a[2].fill_(1.0);  // uniform
  a.requires_grad_(true);
  const auto weight = torch::tensor({{1.0f}, {-1.0f}});  // class 0 and 1 from the one channel
  const auto logits = gap_head(a, weight);
  const auto y = torch::tensor({int64_t{0}, int64_t{0}, int64_t{0}});
  auto masks = torch::zeros({3, 1, 8, 8});                                      // input 8x8 = 2x the grid
  masks[0].index_put_({0, torch::indexing::Slice(2, 6), torch::indexing::Slice(2, 6)}, 1.0);  // on the centre
  masks[1].index_put_({0, torch::indexing::Slice(0, 2), torch::indexing::Slice()}, 1.0);       // top rows only
  masks[2].index_put_({0, torch::indexing::Slice(0, 4), torch::indexing::Slice()}, 1.0);       // top half
  const auto has = torch::tensor({true, true, true});
  const auto share = outside_lung_share(a, logits, y, masks, has);
  EXPECT_NEAR(share[0].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(share[1].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(share[2].item<double>(), 0.5, 1e-6);
  const auto none = outside_lung_share(a, logits, y, masks, torch::tensor({false, false, false}));
  EXPECT_EQ(none.abs().sum().item<double>(), 0.0);
}

// Signed evidence counts: a channel that only lowers the other class's logit (negative
// weight, hidden by Grad-CAM's ReLU) is still evidence, so a shortcut cannot hide there.
TEST(LungPenalty, NegativeEvidenceOutsideIsPenalised) {
  auto a = torch::zeros({1, 2, 4, 4});
  a[0][0].index_put_({torch::indexing::Slice(1, 3), torch::indexing::Slice(1, 3)}, 1.0);  // lungs
  a[0][1].index_put_({3, 3}, 4.0);                                                          // a corner marker
  a.requires_grad_(true);
  // Class 0 from the lungs; the marker only pushes class 1 down.
  const auto weight = torch::tensor({{1.0f, 0.0f}, {0.0f, -1.0f}});
  const auto logits = gap_head(a, weight);
  auto masks = torch::zeros({1, 1, 4, 4});
  masks[0][0].index_put_({torch::indexing::Slice(1, 3), torch::indexing::Slice(1, 3)}, 1.0);
  const auto share = outside_lung_share(a, logits, torch::tensor({int64_t{0}}), masks, torch::tensor({true}));
  EXPECT_GT(share.item<double>(), 0.1) << "evidence from the marker was not seen";
}

// The penalty is differentiable into the features: its gradient lowers the outside share.
TEST(LungPenalty, GradientMovesEvidenceIntoTheLungs) {
  torch::manual_seed(3);
  auto raw = torch::rand({2, 3, 4, 4}).requires_grad_(true);
  const auto weight = torch::randn({2, 3});
  auto masks = torch::zeros({2, 1, 4, 4});
  masks.index_put_({torch::indexing::Slice(), 0, torch::indexing::Slice(0, 2)}, 1.0);
  const auto has = torch::tensor({true, true});
  const auto y = torch::tensor({int64_t{0}, int64_t{1}});
  auto share_of = [&](const torch::Tensor& r) {
    const auto a = r.relu();
    return outside_lung_share(a, gap_head(a, weight), y, masks, has).sum();
  };
  const auto before = share_of(raw);
  const auto g = torch::autograd::grad({before}, {raw})[0];
  ASSERT_GT(g.abs().sum().item<double>(), 0.0);
  torch::NoGradGuard no_grad;
  const auto stepped = (raw - 0.05 * g).detach().requires_grad_(true);
  torch::AutoGradMode on(true);
  EXPECT_LT(share_of(stepped).item<double>(), before.item<double>());
}

// The feeder moves each mask with its image: an image that is its own mask (a bright
// rectangle) comes out of batch() and masks() as the same picture under the same draw.
TEST(LungPenalty, FeederMasksFollowTheAugmentation) {
  TempDir tmp;
  std::vector<train_detail::Item> items;
  for (int i = 0; i < 3; ++i) {
    cv::Mat img = cv::Mat::zeros(180, 200 + 20 * i, CV_8UC1);
    cv::rectangle(img, cv::Rect(30 + 10 * i, 40, 70, 90), cv::Scalar(255), cv::FILLED);
    const fs::path f = tmp / ("img" + std::to_string(i) + ".png");
    const fs::path m = tmp / ("img" + std::to_string(i) + "_mask.png");
    ASSERT_TRUE(cv::imwrite(f.string(), img));
    ASSERT_TRUE(cv::imwrite(m.string(), img));
    items.push_back({f, 0, m});
  }
  items.push_back({items[0].image, 1, fs::path()});  // an image without a mask
  Normalization identity;
  identity.mean = {0.f, 0.f, 0.f};
  identity.std = {1.f, 1.f, 1.f};
  train_detail::Feeder feeder(items, 64, identity, int64_t{16} << 20);
  train_detail::AugmentSpec geometric;  // rotation, shift, scale; no photometric change
  geometric.brightness = 0.0;
  geometric.contrast = 0.0;
  const std::vector<std::size_t> idx = {0, 1, 2, 3};
  const auto x = feeder.batch(idx, &geometric, 11, false);
  torch::Tensor has;
  const auto m = feeder.masks(idx, &geometric, 11, true, has);
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{4, 1, 64, 64}));
  EXPECT_TRUE(has[0].item<bool>() && has[1].item<bool>() && has[2].item<bool>());
  EXPECT_FALSE(has[3].item<bool>());
  EXPECT_EQ(m[3].abs().sum().item<double>(), 0.0);
  // Masks are kept as bytes at the side (rounding: 1/255 at most).
  for (int64_t b = 0; b < 3; ++b)
    EXPECT_LE((x[b][0] - m[b][0]).abs().max().item<double>(), 1.0 / 255 + 1e-6) << "mask " << b << " left its image";
  // Another draw moves them elsewhere (the check above can fail).
  torch::Tensor has2;
  EXPECT_GT((feeder.masks(idx, &geometric, 12, false, has2)[0][0] - m[0][0]).abs().max().item<double>(), 0.5);
}
