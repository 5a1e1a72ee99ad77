#include "dataset/naming.h"

#include <regex>

#include "dataset/csv_reader.h"
#include "gradgate/common/fnv1a.h"

namespace gradgate::dataset_detail {

namespace fs = std::filesystem;

std::string patient_from_file_name(const fs::path& p) {
  static const std::regex person(R"(^(person\d+)_(bacteria|virus)_\d+$)", std::regex::icase);
  static const std::regex im(R"(^((?:[A-Za-z0-9]+-)?IM-\d+)-\d+$)", std::regex::icase);
  const std::string stem = p.stem().string();
  std::smatch m;
  if (std::regex_match(stem, m, person)) return m[1].str();
  if (std::regex_match(stem, m, im)) return m[1].str();
  return stem;
}

std::string diagnosis_from_label(const std::string& label, const fs::path& file) {
  const std::string l = lower(trim(label));
  if (l == "pneumonia") {
    const std::string name = lower(file.filename().string());
    if (name.find("bacteria") != std::string::npos) return "bacterial";
    if (name.find("virus") != std::string::npos) return "viral";
  }
  if (l == "covid-19" || l == "covid19" || l == "covid_19") return "covid";
  return l;
}

Split hash_split(const std::string& key) {
  const uint64_t bucket = fnv1a64(key, kGradgateFnvBasis) % 100;
  return bucket < 70 ? Split::Train : bucket < 85 ? Split::Val : Split::Test;
}

fs::path resolve_path(const fs::path& base, const std::string& p) {
  fs::path path(p);
  if (path.is_relative()) path = base / path;
  return fs::absolute(path).lexically_normal();
}

}  // namespace gradgate::dataset_detail
