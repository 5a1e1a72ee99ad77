#include "dataset/csv_reader.h"
#include "dataset/formats.h"
#include "gradgate/dataset.h"
#include "gradgate/error.h"

namespace gradgate {

namespace fs = std::filesystem;
using namespace dataset_detail;

const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Test: return "test";
    case Split::Other: return "other";
  }
  return "?";
}

std::optional<Split> parse_split(const std::string& text) {
  const std::string t = lower(trim(text));
  if (t == "train" || t == "training") return Split::Train;
  if (t == "val" || t == "valid" || t == "validation") return Split::Val;
  if (t == "test" || t == "testing") return Split::Test;
  return std::nullopt;
}

std::shared_ptr<const Dataset> open_dataset(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DatasetError(path.string() + ": data set not found");
  if (fs::is_directory(path, ec)) {
    if (fs::is_regular_file(path / "manifest.csv", ec)) return open_manifest(path / "manifest.csv");
    return open_tree(path);
  }
  if (lower(path.extension().string()) != ".csv")
    throw DatasetError(path.string() + ": expected a folder, a manifest.csv or a .csv file");
  CsvReader csv(path);
  std::vector<std::string> header;
  if (!csv.next(header)) throw DatasetError(path.string() + ": empty CSV file");
  // Columns only a manifest has mark one even when a required column is missing, so the
  // error then names that column instead of rejecting the others as plain-CSV columns.
  bool manifest_like = is_manifest_header(header);
  for (const auto& h : header) {
    const std::string c = lower(trim(h));
    manifest_like = manifest_like || c == "finding" || c == "view" || c == "license" || c == "citation";
  }
  return manifest_like ? open_manifest(path) : open_plain_csv(path);
}

}  // namespace gradgate
