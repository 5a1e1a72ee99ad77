// A plain CSV of images: path,label[,mask], with or without a header. With a header the
// columns are found by name and may also include split, patient and source.
#include <map>

#include "dataset/csv_reader.h"
#include "dataset/naming.h"
#include "gradgate/error.h"

namespace gradgate {

namespace fs = std::filesystem;
using namespace dataset_detail;

namespace {

// Column names accepted in a header, by role.
const std::map<std::string, std::string>& header_names() {
  static const std::map<std::string, std::string> names = {
      {"path", "path"},       {"image", "path"},     {"file", "path"},       {"filename", "path"},
      {"image_path", "path"}, {"label", "label"},    {"diagnosis", "label"}, {"class", "label"},
      {"mask", "mask"},       {"mask_path", "mask"}, {"split", "split"},     {"patient", "patient"},
      {"source", "source"},
  };
  return names;
}

class PlainCsvReader : public SampleReader {
 public:
  explicit PlainCsvReader(const fs::path& file) : csv_(file), base_(fs::absolute(file).parent_path()) {
    // A header is recognised by its first column's name; without one, rows are positional.
    if (!csv_.next(row_)) return;
    const auto& names = header_names();
    auto first = names.find(lower(trim(row_[0])));
    if (first != names.end() && first->second == "path") {
      width_ = row_.size();
      for (std::size_t i = 0; i < row_.size(); ++i) {
        auto it = names.find(lower(trim(row_[i])));
        if (it == names.end())
          csv_.fail("unknown column '" + row_[i] +
                    "' in the header (expected path,label[,mask][,split][,patient][,source])");
        if (column_.count(it->second)) csv_.fail("column '" + it->second + "' given twice in the header");
        column_[it->second] = i;
      }
      if (!column_.count("label")) csv_.fail("the header has no 'label' column");
      have_row_ = false;
    } else {
      column_ = {{"path", 0}, {"label", 1}, {"mask", 2}};
      have_row_ = true;  // the first row is data
    }
  }

  bool next(Sample& out) override {
    if (have_row_) {
      have_row_ = false;
    } else if (!csv_.next(row_)) {
      return false;
    }
    if (width_ != 0 && row_.size() != width_)
      csv_.fail("expected " + std::to_string(width_) + " fields (as in the header), got " +
                std::to_string(row_.size()));
    if (width_ == 0 && (row_.size() < 2 || row_.size() > 3))
      csv_.fail("expected path,label[,mask] (2 or 3 fields), got " + std::to_string(row_.size()) +
                " fields");
    const std::string path = get("path");
    if (path.empty()) csv_.fail("empty image path");
    const std::string label = get("label");
    if (label.empty()) csv_.fail("empty label for " + path);
    out = Sample{};
    out.image = resolve_path(base_, path);
    const std::string mask = get("mask");
    if (!mask.empty()) out.mask = resolve_path(base_, mask);
    out.finding = label;
    out.diagnosis = diagnosis_from_label(label, out.image);
    out.patient = get("patient");
    if (out.patient.empty()) out.patient = patient_from_file_name(out.image);
    out.source = get("source");
    const std::string split = get("split");
    if (split.empty()) {
      out.split = hash_split(out.patient);
    } else {
      const auto s = parse_split(split);
      out.split = s.value_or(Split::Other);
      out.split_text = s ? "" : trim(split);
    }
    return true;
  }

 private:
  std::string get(const std::string& role) const {
    auto it = column_.find(role);
    return (it == column_.end() || it->second >= row_.size()) ? std::string() : trim(row_[it->second]);
  }

  CsvReader csv_;
  fs::path base_;
  std::vector<std::string> row_;
  std::map<std::string, std::size_t> column_;
  std::size_t width_ = 0;  // fields per row when a header fixes it
  bool have_row_ = false;
};

class PlainCsvDataset : public Dataset {
 public:
  explicit PlainCsvDataset(const fs::path& file) : Dataset(file) {}
  std::unique_ptr<SampleReader> reader() const override {
    return std::make_unique<PlainCsvReader>(path());
  }
  const char* format() const override { return "csv"; }
};

}  // namespace

std::shared_ptr<const Dataset> open_plain_csv(const fs::path& csv_file) {
  PlainCsvReader check(csv_file);  // header errors surface when the data set is opened
  return std::make_shared<PlainCsvDataset>(csv_file);
}

}  // namespace gradgate
