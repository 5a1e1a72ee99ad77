// domain.pt: a models folder's domain model as a torch.save dict of tensors (loads in Python
// with torch.load), written atomically, read back through the project's bounded torch.save
// reader (zoo/weights.h read_state_dict) and validated.
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <cmath>
#include <map>

#include "gradgate/common/atomic_file.h"
#include "gradgate/domain.h"
#include "gradgate/error.h"
#include "gradgate/zoo/weights.h"

namespace gradgate {

namespace fs = std::filesystem;

namespace {

torch::Tensor vector_tensor(const std::vector<float>& v) {
  return torch::from_blob(const_cast<float*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kFloat32).clone();
}

torch::Tensor scalar_tensor(double v) { return torch::tensor({v}, torch::kFloat64); }

std::vector<float> floats(const torch::Tensor& t) {
  const torch::Tensor f = t.to(torch::kFloat32).contiguous().flatten();
  return std::vector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
}

}  // namespace

void save_domain_model(const DomainModel& model, const fs::path& file) {
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("quantile", scalar_tensor(model.quantile));
  for (const auto& m : model.members) {
    m.validate("domain model for " + file.string());
    const int64_t k = static_cast<int64_t>(m.rank()), c = static_cast<int64_t>(m.channels());
    dict.insert(m.member + ".mean", vector_tensor(m.mean));
    // float16: the directions are the bulk of the file (k x C per member); fit_member_domain
    // calibrates with the rounded values, so nothing changes when they are read back.
    dict.insert(m.member + ".components", vector_tensor(m.components).reshape({k, c}).to(torch::kHalf));
    dict.insert(m.member + ".variances", vector_tensor(m.variances));
    dict.insert(m.member + ".residual_variance", scalar_tensor(m.residual_variance));
    dict.insert(m.member + ".threshold", scalar_tensor(m.threshold));
  }
  if (model.image) {
    const ImageDomain& im = *model.image;
    im.validate("domain model for " + file.string());
    const int64_t n = static_cast<int64_t>(im.rows()), d = static_cast<int64_t>(im.dims());
    // float16 as for the directions: fit_image_domain calibrated on the rounded references.
    dict.insert("image.references", vector_tensor(im.references).reshape({n, d}).to(torch::kHalf));
    dict.insert("image.stats_mean", vector_tensor(im.stats_mean));
    dict.insert("image.stats_std", vector_tensor(im.stats_std));
    dict.insert("image.side", scalar_tensor(im.side));
    dict.insert("image.weight", scalar_tensor(im.weight));
    dict.insert("image.k", scalar_tensor(im.k));
    dict.insert("image.threshold", scalar_tensor(im.threshold));
  }
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  try {
    write_stream_atomic(file, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
  } catch (const Error& e) {
    throw ModelError("domain model " + file.string() + ": writing failed: " + e.what());
  }
}

DomainModel load_domain_model(const fs::path& file) {
  const std::string where = "domain model " + file.string();
  if (!fs::exists(file)) throw ModelError(where + ": file not found");
  NamedTensors tensors;
  try {
    tensors = read_state_dict(file.string());
  } catch (const Error& e) {
    throw ModelError("domain model: " + std::string(e.what()));
  }
  std::map<std::string, torch::Tensor> by_key(tensors.begin(), tensors.end());
  const auto take = [&](const std::string& key) -> torch::Tensor {
    auto it = by_key.find(key);
    if (it == by_key.end()) throw ModelError(where + ": entry '" + key + "' is missing");
    torch::Tensor t = it->second;
    by_key.erase(it);
    return t;
  };
  const auto scalar = [&](const std::string& key) {
    const torch::Tensor t = take(key);
    if (t.numel() != 1) throw ModelError(where + ": entry '" + key + "' is not one number");
    return t.to(torch::kFloat64).item<double>();
  };
  DomainModel model;
  model.quantile = scalar("quantile");
  if (!(model.quantile > 0 && model.quantile < 1))
    throw ModelError(where + ": quantile " + std::to_string(model.quantile) + " is outside (0, 1)");
  // Members: every "<name>.mean" key, in the file's order.
  std::vector<std::string> names;
  for (const auto& [key, t] : tensors) {
    const std::string suffix = ".mean";
    if (key.size() > suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0)
      names.push_back(key.substr(0, key.size() - suffix.size()));
  }
  if (names.empty()) throw ModelError(where + ": no member entries (<member>.mean)");
  for (const auto& name : names) {
    MemberDomain m;
    m.member = name;
    const torch::Tensor mean = take(name + ".mean"), comp = take(name + ".components"),
                        var = take(name + ".variances");
    if (mean.dim() != 1 || comp.dim() != 2 || var.dim() != 1 || comp.size(1) != mean.size(0) ||
        comp.size(0) != var.size(0))
      throw ModelError(where + ": member " + name + ": shapes mean " + c10::str(mean.sizes()) + ", components " +
                       c10::str(comp.sizes()) + ", variances " + c10::str(var.sizes()) +
                       " disagree (expected [C], [k,C], [k])");
    m.mean = floats(mean);
    m.components = floats(comp);
    m.variances = floats(var);
    m.residual_variance = scalar(name + ".residual_variance");
    m.threshold = scalar(name + ".threshold");
    m.validate(where);
    model.members.push_back(std::move(m));
  }
  // The film's look: written since 2026-12-07; a file without it checks the members only.
  if (by_key.count("image.references")) {
    ImageDomain im;
    const torch::Tensor refs = take("image.references");
    im.stats_mean = floats(take("image.stats_mean"));
    im.stats_std = floats(take("image.stats_std"));
    const double side = scalar("image.side"), k = scalar("image.k");
    if (!(side >= 2 && side <= 256 && side == std::floor(side)) || !(k >= 1 && k <= 1e6 && k == std::floor(k)))
      throw ModelError(where + ": image look: side " + std::to_string(side) + " or k " + std::to_string(k) +
                       " is not a whole number in range");
    im.side = static_cast<int>(side);
    im.k = static_cast<int>(k);
    im.weight = scalar("image.weight");
    im.threshold = scalar("image.threshold");
    if (refs.dim() != 2 || refs.size(1) != static_cast<int64_t>(im.dims()))
      throw ModelError(where + ": image look: references of shape " + c10::str(refs.sizes()) + ", expected [n," +
                       std::to_string(im.dims()) + "]");
    im.references = floats(refs);
    im.validate(where);
    model.image = std::move(im);
  }
  if (!by_key.empty()) throw ModelError(where + ": unexpected entry '" + by_key.begin()->first + "'");
  return model;
}

}  // namespace gradgate
