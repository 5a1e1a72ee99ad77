#include "gradgate/zoo/weights.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "gradgate/common/atomic_file.h"
#include "gradgate/common/regular_file.h"
#include "gradgate/common/strings.h"
#include "gradgate/error.h"
#include "zoo/torch_pickle.h"

namespace gradgate {

namespace {

namespace fs = std::filesystem;
namespace pickle = zoo::pickle;
using pickle::Ref;
using pickle::Value;

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream os;
  os << "[";
  for (int64_t d = 0; d < t.dim(); ++d) os << (d ? "," : "") << t.size(d);
  os << "]";
  return os.str();
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// torchvision's training-only auxiliary classifiers; members are built without them.
bool is_aux_head(const std::string& key) {
  return starts_with(key, "AuxLogits.") || starts_with(key, "aux1.") || starts_with(key, "aux2.");
}
bool is_batch_counter(const std::string& key) { return ends_with(key, "num_batches_tracked"); }

// The dict of tensors inside a torch.save'd object: the object itself, or a checkpoint's
// "state_dict"/"model" entry.
const Value& tensor_dict(const Value& top, const std::string& path) {
  if (top.kind != Value::Kind::Dict)
    throw ModelError(path + ": expected a (Ordered)dict of tensors, found a " +
                     pickle::kind_name(top.kind));
  bool any_tensor = false;
  for (const auto& [k, v] : top.dict) any_tensor = any_tensor || v->kind == Value::Kind::Tensor;
  if (!any_tensor)
    for (const char* wrapper : {"state_dict", "model"})
      for (const auto& [k, v] : top.dict)
        if (k->kind == Value::Kind::String && k->s == wrapper && v->kind == Value::Kind::Dict)
          return *v;
  return top;
}

// Prefix of the module holding the model's last parameter: torchvision registers the
// classifier last in every architecture (fc, classifier, classifier.6, classifier.1, ...).
std::string classifier_prefix(const torch::nn::Module& model) {
  auto params = model.named_parameters(true);
  if (params.is_empty()) return "";
  const std::string last = params.keys().back();  // keys() returns a copy
  const auto dot = last.rfind('.');
  return dot == std::string::npos ? "" : last.substr(0, dot + 1);
}

// join(v, ", ") of the first `max_items`, then how many more.
std::string join_capped(const std::vector<std::string>& v, std::size_t max_items = 40) {
  const auto shown = static_cast<std::ptrdiff_t>(std::min(v.size(), max_items));
  std::string out = join(std::vector<std::string>(v.begin(), v.begin() + shown), ", ");
  if (v.size() > max_items) out += ", ... (" + std::to_string(v.size() - max_items) + " more)";
  return out;
}

constexpr const char* kScaleSuffix = ":int8_scale";

// Convolution and linear weights: the tensors int8 storage quantises (weight_storage.h).
bool quantised_in_int8(const torch::Tensor& t) { return t.is_floating_point() && t.dim() >= 2 && t.numel() > 0; }

// One float32 scale per output channel (dim 0): max|w| / 127, 1 where the channel is all zero.
torch::Tensor int8_scales(const torch::Tensor& w) {
  torch::Tensor amax = w.detach().to(torch::kFloat32).reshape({w.size(0), -1}).abs().amax(1);
  torch::Tensor scale = amax / 127.0f;
  return torch::where(scale > 0, scale, torch::ones_like(scale));
}

torch::Tensor per_channel(const torch::Tensor& scale, int64_t dim) {
  std::vector<int64_t> shape(static_cast<std::size_t>(dim), 1);
  shape[0] = scale.size(0);
  return scale.reshape(shape);
}

torch::Tensor quantise_int8(const torch::Tensor& w, const torch::Tensor& scale) {
  return (w.detach().to(torch::kFloat32) / per_channel(scale, w.dim())).round().clamp(-127, 127).to(torch::kChar);
}

torch::Tensor dequantise_int8(const torch::Tensor& q, const torch::Tensor& scale) {
  return q.to(torch::kFloat32) * per_channel(scale.to(torch::kFloat32), q.dim());
}

// One parameter or buffer as the file holds it: the stored tensor and, for an int8 weight, its
// per-channel scales. The single place the storage rules live: save_state_dict writes this and
// round_to_storage reads it back, so a member's figures are those of its file.
struct StoredTensor {
  torch::Tensor value;
  torch::Tensor int8_scale;  // defined for int8 weights only
};

StoredTensor stored(const torch::Tensor& t, WeightStorage storage, bool parameter) {
  torch::Tensor c = t.detach().to(torch::kCPU);
  if (storage == WeightStorage::Int8 && parameter && quantised_in_int8(c)) {
    const torch::Tensor scale = int8_scales(c);
    return {quantise_int8(c, scale).contiguous(), scale.contiguous()};
  }
  if (c.is_floating_point()) c = c.to(storage == WeightStorage::Float32 ? torch::kFloat32 : torch::kHalf);
  return {c.contiguous(), {}};
}

// What a loader gets back from a stored tensor (read_state_dict: int8 comes back as float32).
torch::Tensor loaded(const StoredTensor& s) {
  return s.int8_scale.defined() ? dequantise_int8(s.value, s.int8_scale) : s.value;
}

// Replaces each "<key>" (int8) + "<key>:int8_scale" pair by the float tensor they encode.
void dequantise_entries(NamedTensors& tensors, const std::string& path) {
  std::map<std::string, torch::Tensor> scales;
  for (const auto& [k, t] : tensors)
    if (ends_with(k, kScaleSuffix)) scales[k.substr(0, k.size() - std::strlen(kScaleSuffix))] = t;
  if (scales.empty()) return;
  NamedTensors out;
  for (auto& [k, t] : tensors) {
    if (ends_with(k, kScaleSuffix)) continue;
    auto it = scales.find(k);
    if (it == scales.end()) {
      out.emplace_back(k, t);
      continue;
    }
    const torch::Tensor& scale = it->second;
    if (t.scalar_type() != torch::kChar || t.dim() < 2 || !scale.is_floating_point() || scale.dim() != 1 ||
        scale.size(0) != t.size(0))
      throw ModelError(path + ": int8 entry '" + k + "' " + shape_str(t) + " does not fit its scale " +
                       shape_str(scale) + " (expected an int8 tensor and one float scale per row)");
    if (!torch::isfinite(scale).all().item<bool>())
      throw ModelError(path + ": int8 entry '" + k + "' has a scale that is not finite");
    out.emplace_back(k, dequantise_int8(t, scale));
    scales.erase(it);
  }
  if (!scales.empty())
    throw ModelError(path + ": '" + scales.begin()->first + kScaleSuffix + "' is a scale without its tensor");
  tensors.swap(out);
}

}  // namespace

std::string error_text(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

void check_torch_archive(const std::string& path, const std::string& what) {
  const std::string problem = regular_file_problem(path);
  if (!problem.empty()) throw ModelError(what + " " + path + ": " + problem);
  try {
    pickle::check_pickle_bounds(path);
  } catch (const std::exception& e) {
    throw ModelError(what + " " + path + ": refused: " + error_text(e));
  }
}

NamedTensors read_state_dict(const std::string& path) {
  const std::string problem = regular_file_problem(path);
  if (problem == "not found") throw ModelError(path + ": weights file not found");
  if (!problem.empty()) throw ModelError(path + ": " + problem);
  Ref top;
  try {
    top = pickle::load_torch_save(path);
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(path + ": cannot read torch.save file: " + error_text(e));
  }
  const Value& dict = tensor_dict(*top, path);
  NamedTensors out;
  for (const auto& [k, v] : dict.dict) {
    if (k->kind != Value::Kind::String)
      throw ModelError(path + ": state dict key is a " + pickle::kind_name(k->kind) + ", expected str");
    if (v->kind != Value::Kind::Tensor)
      throw ModelError(path + ": entry '" + k->s + "' is a " + pickle::kind_name(v->kind) +
                       (v->kind == Value::Kind::Object ? " (" + v->s + ")" : std::string()) +
                       ", expected a tensor");
    out.emplace_back(k->s, v->tensor);
  }
  dequantise_entries(out, path);
  bool all_module = !out.empty();
  for (const auto& kv : out) all_module = all_module && starts_with(kv.first, "module.");
  if (all_module)
    for (auto& kv : out) kv.first = kv.first.substr(7);  // saved from nn.DataParallel
  return out;
}

LoadReport load_state_dict(torch::nn::Module& model, const NamedTensors& tensors,
                           const LoadOptions& options, const std::string& source) {
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : model.named_parameters(true)) targets[p.key()] = p.value();
  for (const auto& b : model.named_buffers(true)) targets[b.key()] = b.value();
  const std::string cls = classifier_prefix(model);
  // The module holding the classifier ("classifier." for vgg's three layers): with transfer, a
  // hidden layer of another width (another preset's classifier_width) is kept fresh as well.
  const std::string head = cls.substr(0, cls.find('.') + 1);

  LoadReport report;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (target, source)
  std::vector<std::string> wrong_shape, wrong_shape_cls;
  std::set<std::string> seen;
  for (const auto& [key, value] : tensors) {
    seen.insert(key);
    auto it = targets.find(key);
    if (it == targets.end()) {
      if (is_aux_head(key) || is_batch_counter(key))
        report.ignored.push_back(key);
      else
        report.unexpected.push_back(key);
      continue;
    }
    if (!it->second.sizes().equals(value.sizes())) {
      const std::string what = key + " (file " + shape_str(value) + ", member " + shape_str(it->second) + ")";
      if (!cls.empty() && starts_with(key, head))
        wrong_shape_cls.push_back(what);
      else
        wrong_shape.push_back(what);
      continue;
    }
    copies.emplace_back(it->second, value);
    report.loaded.push_back(key);
  }
  for (const auto& [key, t] : targets) {
    if (seen.count(key)) continue;
    if (is_batch_counter(key))
      report.ignored.push_back(key);
    else
      report.missing.push_back(key);
  }
  if (!wrong_shape_cls.empty() && options.skip_classifier_if_mismatch) {
    // Keep the member's fresh classifier: both weight and bias, even if one of them matched.
    for (auto& w : wrong_shape_cls) report.skipped_classifier.push_back(w.substr(0, w.find(' ')));
    std::vector<std::pair<torch::Tensor, torch::Tensor>> kept;
    std::vector<std::string> kept_names;
    for (std::size_t i = 0; i < copies.size(); ++i) {
      if (starts_with(report.loaded[i], cls)) {
        report.skipped_classifier.push_back(report.loaded[i]);
      } else {
        kept.push_back(copies[i]);
        kept_names.push_back(report.loaded[i]);
      }
    }
    copies.swap(kept);
    report.loaded.swap(kept_names);
    wrong_shape_cls.clear();
  }
  wrong_shape.insert(wrong_shape.end(), wrong_shape_cls.begin(), wrong_shape_cls.end());

  std::string problems;
  if (!wrong_shape.empty())
    problems += "\n  wrongly shaped keys: " + join_capped(wrong_shape);
  if (!wrong_shape_cls.empty() && !options.skip_classifier_if_mismatch)
    problems += "\n  (the classifier '" + cls + "*' differs: another class count? set "
                "skip_classifier_if_mismatch to keep the member's new classifier)";
  if (!report.missing.empty() && !options.allow_missing)
    problems += "\n  missing keys (in the member, not in the file): " + join_capped(report.missing);
  if (!report.unexpected.empty() && !options.allow_unexpected)
    problems += "\n  unexpected keys (in the file, not in the member): " + join_capped(report.unexpected);
  if (!problems.empty())
    throw ModelError(source + ": state dict does not fit the member (" +
                     std::to_string(targets.size()) + " parameters/buffers, file has " +
                     std::to_string(tensors.size()) + " entries):" + problems);

  torch::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(value.to(target.dtype()));
  return report;
}

LoadReport load_torchvision_state_dict(torch::nn::Module& model, const std::string& path,
                                       const LoadOptions& options) {
  return load_state_dict(model, read_state_dict(path), options, path);
}

void round_to_storage(torch::nn::Module& model, WeightStorage storage) {
  if (storage == WeightStorage::Float32) return;
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters(true))
    if (p.is_floating_point()) p.copy_(loaded(stored(p, storage, /*parameter=*/true)));
  for (auto& b : model.buffers(true))
    if (b.is_floating_point()) b.copy_(loaded(stored(b, storage, /*parameter=*/false)));
}

void save_state_dict(torch::nn::Module& model, const std::string& path, WeightStorage storage) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& p : model.named_parameters(true)) {
    const StoredTensor s = stored(p.value(), storage, /*parameter=*/true);
    dict.insert(p.key(), s.value);
    if (s.int8_scale.defined()) dict.insert(p.key() + kScaleSuffix, s.int8_scale);
  }
  for (const auto& b : model.named_buffers(true))
    dict.insert(b.key(), stored(b.value(), storage, /*parameter=*/false).value);
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));

  // Temp file then rename (write_stream_atomic): a kill mid-write leaves the old weights.
  try {
    write_stream_atomic(fs::path(path), [&](std::ostream& out) {
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    });
  } catch (const Error& e) {
    throw ModelError(path + ": writing weights failed: " + e.what());
  }
}

}  // namespace gradgate
