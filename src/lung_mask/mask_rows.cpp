// The manifest rows the mask tools need.
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "dataset/csv_reader.h"
#include "gradgate/error.h"
#include "gradgate/lung_mask_rows.h"

namespace gradgate {

namespace fs = std::filesystem;

std::vector<MaskRow> read_mask_rows(const fs::path& data_dir) {
  const fs::path file = data_dir / "manifest.csv";
  if (!std::ifstream(file)) throw DatasetError("cannot open manifest " + file.string());
  // The dataset module's RFC 4180 reader: its parse errors name the file and the line.
  dataset_detail::CsvReader csv(file);
  std::vector<std::string> header;
  if (!csv.next(header)) throw DatasetError(file.string() + ": empty file, expected a header");
  auto column = [&](const std::string& name) {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    throw DatasetError(file.string() + ": header has no '" + name + "' column");
  };
  const size_t c_image = column("image"), c_mask = column("mask"), c_source = column("source"),
               c_split = column("split");
  std::vector<MaskRow> rows;
  std::vector<std::string> f;
  while (csv.next(f)) {
    if (f.size() != header.size())
      csv.fail(std::to_string(f.size()) + " fields, header has " + std::to_string(header.size()));
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
