// NASNet-A (Zoph et al. 2018, "Learning Transferable Architectures for Scalable Image
// Recognition"), ImageNet variants as in Keras' nasnet.py / TF-slim / Cadene's port:
//   Mobile: stem 32, 4 normal cells per stack, penultimate 1056 (cells of 44/88/176 filters)
//   Large:  stem 96, 6 normal cells per stack, penultimate 4032 (cells of 168/336/672 filters)
// Layout: conv0 (3x3/2 conv + BN), cell_stem_0, cell_stem_1 (reduction cells of f/4 and f/2
// filters), N normal cells (f), reduction_cell_0 (2f), N normal cells (2f), reduction_cell_1
// (4f), N normal cells (4f), final `relu` (features() stops there: Keras activation_188 /
// activation_520), then head(): global average pool + last_linear.
// Each cell takes the previous two cell outputs. The older one is brought to the cell's filter
// count by a 1x1 conv + BN, or, when it has twice the resolution, by the factorised reduction
// (two stride-2 1x1 convs on offset grids, concatenated, BN). Large keeps the pre-reduction
// input as the older input of the cell after each reduction (Keras skip_reduction=True),
// Mobile uses the reduction cell's input; widths are the same either way.
// Simplified TF padding quirks: every stride-2 op pads symmetrically (k/2), giving ceil(n/2)
// like TF's 'same'; layers, widths and so parameter counts are those of the original.
// Cadene's head dropout is left out (Keras has none).
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "zoo/families.h"
#include "zoo/scratch_init.h"
#include "zoo/torchvision_util.h"

namespace gradgate::zoo {
namespace {

namespace nn = torch::nn;

nn::BatchNorm2d bn(int64_t ch) { return nn::BatchNorm2d(nn::BatchNorm2dOptions(ch).eps(1e-3).momentum(0.1)); }

class SeparableConv2dImpl : public nn::Module {
 public:
  SeparableConv2dImpl(int64_t in, int64_t out, int64_t k, int64_t stride) {
    depthwise_ = register_module(
        "depthwise_conv2d",
        nn::Conv2d(nn::Conv2dOptions(in, in, k).stride(stride).padding(k / 2).groups(in).bias(false)));
    pointwise_ = register_module("pointwise_conv2d", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)));
  }
  torch::Tensor forward(torch::Tensor x) { return pointwise_(depthwise_(x)); }

 private:
  nn::Conv2d depthwise_{nullptr}, pointwise_{nullptr};
};
TORCH_MODULE(SeparableConv2d);

// ReLU, separable k x k (stride s, in -> out), BN, ReLU, separable k x k (out -> out), BN.
class BranchSeparablesImpl : public nn::Module {
 public:
  BranchSeparablesImpl(int64_t in, int64_t out, int64_t k, int64_t stride) {
    sep1_ = register_module("separable_1", SeparableConv2d(in, out, k, stride));
    bn1_ = register_module("bn_sep_1", bn(out));
    sep2_ = register_module("separable_2", SeparableConv2d(out, out, k, 1));
    bn2_ = register_module("bn_sep_2", bn(out));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = bn1_(sep1_(torch::relu(x)));
    return bn2_(sep2_(torch::relu(x)));
  }

 private:
  SeparableConv2d sep1_{nullptr}, sep2_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
};
TORCH_MODULE(BranchSeparables);

// ReLU, 1x1 conv, BN.
class ReluConvBnImpl : public nn::Module {
 public:
  ReluConvBnImpl(int64_t in, int64_t out) {
    conv_ = register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)));
    bn_ = register_module("bn", bn(out));
  }
  torch::Tensor forward(torch::Tensor x) { return bn_(conv_(torch::relu(x))); }

 private:
  nn::Conv2d conv_{nullptr};
  nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(ReluConvBn);

// Halves the resolution of the older input: ReLU, then two 1x1 convs (out/2 each) on the
// stride-2 grid and on the grid shifted by one pixel, concatenated, BN.
class FactorizedReduceImpl : public nn::Module {
 public:
  FactorizedReduceImpl(int64_t in, int64_t out) {
    path_1_ = register_module("path_1", nn::Conv2d(nn::Conv2dOptions(in, out / 2, 1).bias(false)));
    path_2_ = register_module("path_2", nn::Conv2d(nn::Conv2dOptions(in, out - out / 2, 1).bias(false)));
    bn_ = register_module("final_path_bn", bn(out));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(x);
    auto p1 = path_1_(x.slice(2, 0, c10::nullopt, 2).slice(3, 0, c10::nullopt, 2));
    // Shift by one pixel (pad bottom/right, drop top/left), then the same stride-2 grid.
    auto shifted = torch::constant_pad_nd(x, {0, 1, 0, 1}).slice(2, 1).slice(3, 1);
    auto p2 = path_2_(shifted.slice(2, 0, c10::nullopt, 2).slice(3, 0, c10::nullopt, 2));
    return bn_(torch::cat({p1, p2}, 1));
  }

 private:
  nn::Conv2d path_1_{nullptr}, path_2_{nullptr};
  nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(FactorizedReduce);

// How the older input reaches the cell's filter count.
enum class Prev { Raw, Project, Factorized };

torch::Tensor avg3(const torch::Tensor& x, int64_t stride) {
  return torch::avg_pool2d(x, 3, stride, 1, /*ceil_mode=*/false, /*count_include_pad=*/false);
}
torch::Tensor max3s2(const torch::Tensor& x) { return torch::max_pool2d(x, 3, 2, 1); }

// One NASNet-A normal or reduction cell with `f` filters per branch.
class CellImpl : public nn::Module {
 public:
  CellImpl(bool reduction, int64_t x_ch, int64_t prev_ch, Prev prev_mode, int64_t f)
      : reduction_(reduction), prev_mode_(prev_mode) {
    conv_1x1_ = register_module("conv_1x1", ReluConvBn(x_ch, f));
    int64_t p_ch = f;
    if (prev_mode == Prev::Project) {
      prev_project_ = register_module("conv_prev_1x1", ReluConvBn(prev_ch, f));
    } else if (prev_mode == Prev::Factorized) {
      prev_reduce_ = register_module("prev_reduce", FactorizedReduce(prev_ch, f));
    } else {
      p_ch = prev_ch;  // the stem cell reads the stem conv output as it is
    }
    auto add = [&](const char* name, int64_t in, int64_t k, int64_t stride) {
      return register_module(name, BranchSeparables(in, f, k, stride));
    };
    if (!reduction) {
      c0l_ = add("comb_iter_0_left", f, 5, 1);
      c0r_ = add("comb_iter_0_right", p_ch, 3, 1);
      c1l_ = add("comb_iter_1_left", p_ch, 5, 1);
      c1r_ = add("comb_iter_1_right", p_ch, 3, 1);
      c4l_ = add("comb_iter_4_left", f, 3, 1);
    } else {
      c0l_ = add("comb_iter_0_left", f, 5, 2);
      c0r_ = add("comb_iter_0_right", p_ch, 7, 2);
      c1r_ = add("comb_iter_1_right", p_ch, 7, 2);
      c2r_ = add("comb_iter_2_right", p_ch, 5, 2);
      c4l_ = add("comb_iter_4_left", f, 3, 1);
    }
    out_channels = (reduction ? 4 : 6) * f;
  }

  torch::Tensor forward(torch::Tensor x, torch::Tensor prev) {
    auto h = conv_1x1_(x);
    auto p = prev_mode_ == Prev::Project      ? prev_project_(prev)
             : prev_mode_ == Prev::Factorized ? prev_reduce_(prev)
                                              : prev;
    if (!reduction_) {
      auto c0 = c0l_(h) + c0r_(p);
      auto c1 = c1l_(p) + c1r_(p);
      auto c2 = avg3(h, 1) + p;
      auto c3 = avg3(p, 1) + avg3(p, 1);
      auto c4 = c4l_(h) + h;
      return torch::cat({p, c0, c1, c2, c3, c4}, 1);
    }
    auto c0 = c0l_(h) + c0r_(p);
    auto c1 = max3s2(h) + c1r_(p);
    auto c2 = avg3(h, 2) + c2r_(p);
    auto c3 = avg3(c0, 1) + c1;
    auto c4 = c4l_(c0) + max3s2(h);
    return torch::cat({c1, c2, c3, c4}, 1);
  }
  int64_t out_channels;

 private:
  bool reduction_;
  Prev prev_mode_;
  ReluConvBn conv_1x1_{nullptr}, prev_project_{nullptr};
  FactorizedReduce prev_reduce_{nullptr};
  BranchSeparables c0l_{nullptr}, c0r_{nullptr}, c1l_{nullptr}, c1r_{nullptr}, c2r_{nullptr}, c4l_{nullptr};
};
TORCH_MODULE(Cell);

struct NasnetSpec {
  int64_t stem_filters;
  int64_t penultimate_filters;
  int64_t cells_per_stack;
  bool skip_reduction;
};

class NASNetImpl : public MemberImpl {
 public:
  NASNetImpl(const MemberOptions& o, const NasnetSpec& s) : num_classes_(o.num_classes) {
    const int64_t stem = scaled_channels(s.stem_filters, o.width);
    // Cell filters must stay a multiple of 4 (the stem cells use f/4 and f/2, split in halves);
    // at least 8 so the smallest presets keep a few channels per branch.
    const int64_t f = o.width == 1.0 ? s.penultimate_filters / 24
                                     : std::max<int64_t>(8, scaled_channels(s.penultimate_filters / 24, o.width, 4));
    conv0_ = nn::Sequential();
    conv0_->push_back("conv", nn::Conv2d(nn::Conv2dOptions(3, stem, 3).stride(2).bias(false)));
    conv0_->push_back("bn", bn(stem));
    register_module("conv0", conv0_);

    // (channels, resolution level) of the current and the older cell input while building.
    struct Slot {
      int64_t ch;
      int level;
    };
    Slot cur{stem, 0}, prev{0, -1};
    auto add_cell = [&](const std::string& name, bool reduction, int64_t filters, bool stem_cell) {
      if (name == "reduction_cell_1") {  // stride 16 -> 32: the fine split
        fine_split_ = cells_.size();
        fine_x_channels_ = cur.ch;
      }
      Prev mode = prev.level < 0 ? Prev::Raw : prev.level != cur.level ? Prev::Factorized : Prev::Project;
      Cell cell(reduction, cur.ch, prev.level < 0 ? cur.ch : prev.ch, mode, filters);
      cells_.push_back(register_module(name, cell));
      const bool keep_prev = reduction && !stem_cell && s.skip_reduction;
      keep_prev_.push_back(keep_prev);
      if (!keep_prev) prev = cur;
      cur = Slot{cell->out_channels, cur.level + (reduction ? 1 : 0)};
    };
    add_cell("cell_stem_0", true, f / 4, true);
    add_cell("cell_stem_1", true, f / 2, true);
    int normal = 0;
    for (int stack = 0; stack < 3; ++stack) {
      if (stack > 0) add_cell("reduction_cell_" + std::to_string(stack - 1), true, f << stack, false);
      for (int64_t i = 0; i < s.cells_per_stack; ++i)
        add_cell("cell_" + std::to_string(normal++), false, f << stack, false);
    }
    relu_ = register_module("relu", nn::ReLU());
    num_features_ = cur.ch;
    last_linear_ = register_module("last_linear", nn::Linear(num_features_, num_classes_));
    init_from_scratch(*this);
  }

  torch::Tensor features(torch::Tensor x) override { return fine_tail(fine_features(x)); }
  // The cells read two inputs (the last cell's output and the one before), so the state at
  // the stride-16 split is both: concatenated on channels ([x, prev]), the Grad-CAM map of
  // the fine layer sums the evidence of the last two normal cells of the second stack.
  torch::Tensor fine_features(torch::Tensor x) override {
    x = conv0_->forward(x);
    torch::Tensor prev = x;  // the first stem cell reads the stem output on both inputs
    run_cells(0, fine_split_, x, prev);
    return torch::cat({x, prev}, 1);
  }
  torch::Tensor fine_tail(torch::Tensor a) override {
    torch::Tensor x = a.narrow(1, 0, fine_x_channels_);
    torch::Tensor prev = a.narrow(1, fine_x_channels_, a.size(1) - fine_x_channels_);
    run_cells(fine_split_, cells_.size(), x, prev);
    return relu_(x);
  }
  std::string fine_layer() const override {
    return "cell_" + std::to_string(last_normal_before_split()) + "+cell_" +
           std::to_string(last_normal_before_split() - 1);
  }
  torch::Tensor head(torch::Tensor a) override { return last_linear_(global_avg_pool(a)); }

  void reset_classifier(int64_t num_classes) override {
    last_linear_ = replace_module(
        "last_linear", fresh_linear("nasnet", last_linear_, num_features_, num_classes, is_training()));
    num_classes_ = num_classes;
  }
  int64_t num_classes() const override { return num_classes_; }
  std::string feature_layer() const override { return "relu"; }

 private:
  void run_cells(std::size_t from, std::size_t to, torch::Tensor& x, torch::Tensor& prev) {
    for (std::size_t i = from; i < to; ++i) {
      auto out = cells_[i]->forward(x, prev);
      if (!keep_prev_[i]) prev = x;
      x = out;
    }
  }
  // Normal cells are numbered across stacks; the two stem cells and reduction_cell_0 are not.
  std::size_t last_normal_before_split() const { return fine_split_ - 4; }

  std::size_t fine_split_ = 0;        // index of reduction_cell_1 in cells_
  int64_t fine_x_channels_ = 0;       // channels of the last cell's output at the split
  int64_t num_classes_;
  int64_t num_features_ = 0;
  nn::Sequential conv0_{nullptr};
  std::vector<Cell> cells_;
  std::vector<bool> keep_prev_;
  nn::ReLU relu_{nullptr};
  nn::Linear last_linear_{nullptr};
};

}  // namespace

Member make_nasnet_mobile(const MemberOptions& o) {
  return std::make_shared<NASNetImpl>(o, NasnetSpec{32, 1056, 4, /*skip_reduction=*/false});
}
Member make_nasnet_large(const MemberOptions& o) {
  return std::make_shared<NASNetImpl>(o, NasnetSpec{96, 4032, 6, /*skip_reduction=*/true});
}

}  // namespace gradgate::zoo
