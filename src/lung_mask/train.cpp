// Training the lung U-Net, measuring Dice, building the atlas.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <random>

#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/lung_atlas.h"
#include "gradgate/lung_mask.h"
#include "gradgate/lung_mask_train.h"
#include "gradgate/lung_segmenter.h"
#include "gradgate/preprocess.h"

namespace gradgate {

namespace {

// Training images and masks resized once to the net's side, kept as 8 bit (small in memory).
struct Preloaded {
  std::vector<cv::Mat> images;  // CV_8UC1 side x side
  std::vector<cv::Mat> masks;   // CV_8UC1 side x side, 0..255 (area-averaged)
  std::vector<std::string> sources;
};

Preloaded preload(const std::vector<MaskRow>& rows, int side) {
  Preloaded p;
  for (const auto& r : rows) {
    cv::Mat gray = load_gray(r.image);
    cv::Mat mask = read_mask_file(r.mask, gray.size(), nullptr);
    cv::Mat img8;
    // Stretch each image to its own range before 8-bit storage (12-bit films stored in 16 bit).
    double lo, hi;
    cv::minMaxLoc(gray, &lo, &hi);
    gray.convertTo(img8, CV_8U, 255.0 / std::max(hi - lo, 1e-6), -255.0 * lo / std::max(hi - lo, 1e-6));
    // The same resize as at inference (unet_input), for the image and its mask alike.
    p.images.push_back(resize_to_side(img8, side).clone());
    p.masks.push_back(resize_to_side(mask, side).clone());
    p.sources.push_back(r.source);
  }
  return p;
}

// One augmented sample written into x (standardised image) and y (0/1 target).
void augment(const cv::Mat& img8, const cv::Mat& mask8, const UNetTrainOptions& o, std::mt19937_64& rng,
             float* x, float* y) {
  const int side = img8.cols;
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const double angle = u(rng) * o.max_rotation_deg;
  const double scale = 1.0 + u(rng) * o.max_scale;
  cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(side / 2.0f, side / 2.0f), angle, scale);
  m.at<double>(0, 2) += u(rng) * o.max_shift * side;
  m.at<double>(1, 2) += u(rng) * o.max_shift * side;
  cv::Mat img, mask;
  cv::warpAffine(img8, img, m, img8.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::warpAffine(mask8, mask, m, mask8.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
  img.convertTo(img, CV_32F, 1.0 / 255.0);
  // Gamma and contrast jitter, then the same standardisation as at inference.
  const double gamma = std::exp(u(rng) * o.max_gamma);
  cv::pow(img, gamma, img);
  cv::Mat in = unet_input(img, side);
  std::copy(in.ptr<float>(), in.ptr<float>() + side * side, x);
  for (int i = 0; i < side * side; ++i) y[i] = mask.data[i] > 127 ? 1.0f : 0.0f;
}

double mean_dice_at_side(UNet& net, const Preloaded& data, size_t limit) {
  torch::NoGradGuard no_grad;
  net->eval();
  const int side = static_cast<int>(net->options().input_side());
  double sum = 0;
  const size_t n = std::min(limit, data.images.size());
  for (size_t i = 0; i < n; ++i) {
    cv::Mat img;
    data.images[i].convertTo(img, CV_32F, 1.0 / 255.0);
    cv::Mat in = unet_input(img, side);
    auto logits = net->forward(torch::from_blob(in.ptr<float>(), {1, 1, side, side})).contiguous();
    cv::Mat pred = cv::Mat(side, side, CV_32F, logits.data_ptr<float>()) > 0;
    sum += dice(keep_two_largest_and_fill(pred), data.masks[i] > 127);
  }
  net->train();
  return n ? sum / n : 0.0;
}

}  // namespace

UNet train_lung_unet(const std::vector<MaskRow>& train, const std::vector<MaskRow>& val,
                     const UNetTrainOptions& o, std::ostream& log) {
  if (train.empty()) throw DatasetError("train_lung_unet: no training rows with masks");
  const int side = static_cast<int>(o.net.input_side());
  torch::manual_seed(o.seed);
  std::mt19937_64 rng(o.seed);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  const Preloaded data = preload(train, side);
  std::vector<MaskRow> val_subset = val;
  std::shuffle(val_subset.begin(), val_subset.end(), std::mt19937_64(o.seed + 1));
  if (static_cast<int64_t>(val_subset.size()) > o.val_images) val_subset.resize(o.val_images);
  const Preloaded val_data = preload(val_subset, side);
  log << "loaded " << data.images.size() << " training and " << val_data.images.size()
      << " validation images at " << side << "x" << side << " in " << std::fixed << std::setprecision(1)
      << elapsed() << " s\n";

  // Source-balanced sampling: pick a source, then an image of it uniformly.
  std::map<std::string, std::vector<size_t>> by_source;
  for (size_t i = 0; i < data.sources.size(); ++i) by_source[data.sources[i]].push_back(i);
  std::vector<std::string> names;
  std::vector<double> weights;
  for (const auto& [name, idx] : by_source) {
    names.push_back(name);
    weights.push_back(std::pow(static_cast<double>(idx.size()), 1.0 - o.source_balance));
  }
  std::discrete_distribution<size_t> pick_source(weights.begin(), weights.end());
  {
    double total = 0;
    for (double w : weights) total += w;
    log << "source sampling:";
    for (size_t i = 0; i < names.size(); ++i)
      log << " " << names[i] << " " << std::setprecision(2) << weights[i] / total << " (" << by_source[names[i]].size()
          << " images)";
    log << "\n";
  }

  UNet net(o.net);
  net->train();
  size_t n_params = 0;
  for (const auto& p : net->parameters()) n_params += p.numel();
  log << "U-Net base_width " << o.net.base_width() << " depth " << o.net.depth() << " side " << side << ": "
      << n_params << " parameters\n";
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));

  torch::Tensor x = torch::empty({o.batch, 1, side, side});
  torch::Tensor y = torch::empty({o.batch, 1, side, side});
  double running = 0;
  for (int64_t step = 1; step <= o.steps; ++step) {
    for (int64_t b = 0; b < o.batch; ++b) {
      const auto& idx = by_source[names[pick_source(rng)]];
      const size_t i = idx[std::uniform_int_distribution<size_t>(0, idx.size() - 1)(rng)];
      augment(data.images[i], data.masks[i], o, rng, x[b].data_ptr<float>(), y[b].data_ptr<float>());
    }
    const double lr = 0.5 * o.lr * (1.0 + std::cos(M_PI * (step - 1) / o.steps));
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
    auto logits = net->forward(x);
    auto bce = torch::binary_cross_entropy_with_logits(logits, y);
    auto p = torch::sigmoid(logits);
    auto soft_dice = (2 * (p * y).sum({1, 2, 3}) + 1) / (p.sum({1, 2, 3}) + y.sum({1, 2, 3}) + 1);
    auto loss = bce + (1 - soft_dice).mean();
    opt.zero_grad();
    loss.backward();
    opt.step();
    running = step == 1 ? loss.item<double>() : 0.95 * running + 0.05 * loss.item<double>();
    if (step % o.log_every == 0 || step == o.steps)
      log << "step " << step << "/" << o.steps << " loss " << std::setprecision(4) << running << " lr "
          << std::setprecision(5) << lr << " " << std::setprecision(1) << elapsed() << " s\n" << std::flush;
    if (o.val_every > 0 && (step % o.val_every == 0 || step == o.steps) && !val_data.images.empty())
      log << "step " << step << " val Dice (at " << side << "x" << side << ", " << val_data.images.size()
          << " images) " << std::setprecision(4) << mean_dice_at_side(net, val_data, val_data.images.size())
          << "\n" << std::flush;
  }
  net->eval();
  log << "trained in " << std::setprecision(1) << elapsed() << " s\n";
  return net;
}

std::map<std::string, DiceSummary> evaluate_segmenter(const LungSegmenter& segmenter,
                                                      const std::vector<MaskRow>& rows) {
  return evaluate_masks([&](const cv::Mat& gray) { return segmenter.segment(gray); }, rows);
}

std::map<std::string, DiceSummary> evaluate_masks(const std::function<cv::Mat(const cv::Mat&)>& predict,
                                                  const std::vector<MaskRow>& rows) {
  std::map<std::string, std::vector<double>> values;
  for (const auto& r : rows) {
    if (r.mask.empty()) continue;
    cv::Mat gray = load_gray(r.image);
    cv::Mat truth = read_mask_file(r.mask, gray.size(), nullptr);
    const double d = dice(predict(gray), truth);
    values[r.source].push_back(d);
    values["all"].push_back(d);
  }
  std::map<std::string, DiceSummary> out;
  for (auto& [group, v] : values) {
    std::sort(v.begin(), v.end());
    DiceSummary s;
    s.n = static_cast<int>(v.size());
    for (double d : v) s.mean += d / v.size();
    s.median = v[v.size() / 2];
    s.min = v.front();
    s.p10 = v[v.size() / 10];
    out[group] = s;
  }
  return out;
}

std::vector<SplitDice> evaluate_splits(const std::function<cv::Mat(const cv::Mat&)>& predict,
                                       const std::vector<MaskRow>& rows,
                                       const std::vector<std::string>& splits, int limit) {
  std::vector<SplitDice> out;
  for (const auto& split : splits) {
    auto scored = rows_with_masks(rows, split);
    if (limit > 0 && static_cast<int>(scored.size()) > limit) scored.resize(limit);
    SplitDice d;
    d.split = split;
    d.dice = evaluate_masks(predict, scored);
    for (const auto& r : rows)
      if (r.split == split && r.mask.empty()) ++d.without_mask[r.source];
    out.push_back(std::move(d));
  }
  return out;
}

LungAtlas build_atlas(const std::vector<MaskRow>& rows, int side, double source_balance, std::ostream& log) {
  std::map<std::string, int> counts;
  for (const auto& r : rows)
    if (!r.mask.empty()) ++counts[r.source];
  LungAtlasBuilder builder(side);
  for (const auto& r : rows) {
    if (r.mask.empty()) continue;
    cv::Mat gray = load_gray(r.image);
    builder.add(gray, read_mask_file(r.mask, gray.size(), nullptr), std::pow(counts[r.source], -source_balance));
  }
  for (const auto& [s, n] : counts) log << "atlas: " << n << " masks from " << s << "\n";
  return builder.build();
}

}  // namespace gradgate
