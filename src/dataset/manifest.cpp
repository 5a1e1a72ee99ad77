// The cxr manifest: one row per image, columns found by name in the header, paths
// relative to the manifest's folder.
#include <algorithm>
#include <map>

#include "dataset/csv_reader.h"
#include "dataset/formats.h"
#include "dataset/naming.h"
#include "gradgate/error.h"

namespace gradgate {

namespace fs = std::filesystem;
using namespace dataset_detail;

namespace {

const std::vector<std::string>& required_columns() {
  static const std::vector<std::string> cols = {"image", "patient", "source", "diagnosis", "split"};
  return cols;
}

class ManifestReader : public SampleReader {
 public:
  explicit ManifestReader(const fs::path& file) : csv_(file), base_(fs::absolute(file).parent_path()) {
    if (!csv_.next(header_)) throw DatasetError(file.string() + ": empty manifest (no header row)");
    for (std::size_t i = 0; i < header_.size(); ++i) column_[lower(trim(header_[i]))] = i;
    for (const auto& c : required_columns())
      if (!column_.count(c))
        csv_.fail("manifest header lacks the column '" + c +
                  "' (expected image,mask,patient,source,finding,diagnosis,view,split,...)");
  }

  bool next(Sample& out) override {
    if (!csv_.next(row_)) return false;
    if (row_.size() != header_.size())
      csv_.fail("expected " + std::to_string(header_.size()) + " fields (as in the header), got " +
                std::to_string(row_.size()));
    const std::string image = get("image");
    if (image.empty()) csv_.fail("empty 'image' field");
    out = Sample{};
    out.image = resolve_path(base_, image);
    const std::string mask = get("mask");
    if (!mask.empty()) out.mask = resolve_path(base_, mask);
    out.patient = get("patient");
    if (out.patient.empty()) csv_.fail("empty 'patient' field");
    out.source = get("source");
    out.finding = get("finding");
    out.diagnosis = lower(get("diagnosis"));
    if (out.diagnosis.empty()) csv_.fail("empty 'diagnosis' field");
    out.view = get("view");
    const std::string split = get("split");
    if (trim(split).empty()) csv_.fail("empty 'split' field (train, val, test, or a name of your own such as external)");
    const auto s = parse_split(split);
    out.split = s.value_or(Split::Other);
    out.split_text = s ? "" : trim(split);
    out.license = get("license");
    out.citation = get("citation");
    return true;
  }

 private:
  std::string get(const std::string& column) const {
    auto it = column_.find(column);
    return it == column_.end() ? std::string() : trim(row_[it->second]);
  }

  CsvReader csv_;
  fs::path base_;
  std::vector<std::string> header_, row_;
  std::map<std::string, std::size_t> column_;
};

class ManifestDataset : public Dataset {
 public:
  explicit ManifestDataset(const fs::path& file) : Dataset(file) {}
  std::unique_ptr<SampleReader> reader() const override {
    return std::make_unique<ManifestReader>(path());
  }
  const char* format() const override { return "manifest"; }
};

}  // namespace

namespace dataset_detail {
bool is_manifest_header(const std::vector<std::string>& header) {
  std::vector<std::string> cols;
  for (const auto& h : header) cols.push_back(lower(trim(h)));
  for (const auto& c : required_columns())
    if (std::find(cols.begin(), cols.end(), c) == cols.end()) return false;
  return true;
}
}  // namespace dataset_detail

std::shared_ptr<const Dataset> open_manifest(const fs::path& csv_file) {
  ManifestReader check(csv_file);  // validates the header now, not at first use
  return std::make_shared<ManifestDataset>(csv_file);
}

}  // namespace gradgate
