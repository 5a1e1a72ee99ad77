// The manifest rows the mask tools need.
#include <fstream>

#include "gradgate/error.h"
#include "gradgate/lung_mask_train.h"

namespace gradgate {

namespace fs = std::filesystem;

namespace {

// One CSV record (RFC 4180 quoting; a quoted field may not span lines here).
std::vector<std::string> split_csv_line(const std::string& line, const fs::path& file, int line_no) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else fields.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  if (quoted) throw DatasetError(file.string() + ":" + std::to_string(line_no) + ": unterminated quoted field");
  return fields;
}

}  // namespace

std::vector<MaskRow> read_mask_rows(const fs::path& data_dir) {
  const fs::path file = data_dir / "manifest.csv";
  std::ifstream in(file);
  if (!in) throw DatasetError("cannot open manifest " + file.string());
  std::string line;
  if (!std::getline(in, line)) throw DatasetError(file.string() + ": empty file, expected a header");
  const auto header = split_csv_line(line, file, 1);
  auto column = [&](const std::string& name) {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    throw DatasetError(file.string() + ": header has no '" + name + "' column");
  };
  const size_t c_image = column("image"), c_mask = column("mask"), c_source = column("source"),
               c_split = column("split");
  std::vector<MaskRow> rows;
  int line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    const auto f = split_csv_line(line, file, line_no);
    if (f.size() != header.size())
      throw DatasetError(file.string() + ":" + std::to_string(line_no) + ": " + std::to_string(f.size()) +
                         " fields, header has " + std::to_string(header.size()));
    MaskRow r;
    r.image = data_dir / f[c_image];
    if (!f[c_mask].empty()) r.mask = data_dir / f[c_mask];
    r.source = f[c_source];
    r.split = f[c_split];
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<MaskRow> rows_with_masks(const std::vector<MaskRow>& rows, const std::string& split) {
  std::vector<MaskRow> out;
  for (const auto& r : rows)
    if (!r.mask.empty() && (split.empty() || r.split == split)) out.push_back(r);
  return out;
}

}  // namespace gradgate
