// domain.pt: a models folder's domain model as a torch.save dict of tensors (loads in Python
// with torch.load), written atomically, read back through the project's bounded torch.save
// reader (zoo/weights.h read_state_dict) and validated.
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

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
  if (!by_key.empty()) throw ModelError(where + ": unexpected entry '" + by_key.begin()->first + "'");
  return model;
}

}  // namespace gradgate
