// loso's features cache (domain_features.h): the pooled features of every image as a
// torch.save dict, "key" (what they were computed from, as bytes) and "f<j>" [rows, C_j].
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <map>

#include "domain/domain_features.h"
#include "gradgate/common/atomic_file.h"
#include "gradgate/zoo/weights.h"

namespace gradgate::domain_detail {

namespace fs = std::filesystem;

void save_features(const fs::path& file, const std::string& key, const std::vector<FeatureMatrix>& f) {
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("key", torch::from_blob(const_cast<char*>(key.data()), {static_cast<int64_t>(key.size())}, torch::kUInt8)
                         .clone());
  for (std::size_t j = 0; j < f.size(); ++j)
    dict.insert("f" + std::to_string(j),
                torch::from_blob(const_cast<float*>(f[j].data.data()),
                                 {static_cast<int64_t>(f[j].rows), static_cast<int64_t>(f[j].cols)}, torch::kFloat32)
                    .clone());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  write_stream_atomic(file, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

bool load_features(const fs::path& file, const std::string& key, std::size_t rows, std::size_t members,
                   std::vector<FeatureMatrix>* out) {
  if (!fs::exists(file)) return false;
  const NamedTensors t = read_state_dict(file.string());
  std::map<std::string, torch::Tensor> by(t.begin(), t.end());
  auto k = by.find("key");
  if (k == by.end()) return false;
  const torch::Tensor kb = k->second.contiguous();
  if (std::string(reinterpret_cast<const char*>(kb.data_ptr<uint8_t>()), static_cast<std::size_t>(kb.numel())) != key)
    return false;
  std::vector<FeatureMatrix> f(members);
  for (std::size_t j = 0; j < members; ++j) {
    auto it = by.find("f" + std::to_string(j));
    if (it == by.end() || it->second.dim() != 2 || static_cast<std::size_t>(it->second.size(0)) != rows) return false;
    const torch::Tensor m = it->second.to(torch::kFloat32).contiguous();
    f[j].rows = rows;
    f[j].cols = static_cast<std::size_t>(m.size(1));
    f[j].data.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
  }
  *out = std::move(f);
  return true;
}

}  // namespace gradgate::domain_detail
