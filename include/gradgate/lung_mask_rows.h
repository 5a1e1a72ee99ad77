#pragma once
// The manifest rows the mask tools need (image, mask, source, split). No torch here: the
// rows are read by the torch-free core (gradgate_core); lung_mask_train.h includes this.
#include <filesystem>
#include <string>
#include <vector>

namespace gradgate {

// One manifest row, as far as masks are concerned. Paths are absolute.
struct MaskRow {
  std::filesystem::path image;
  std::filesystem::path mask;  // empty when the row has no mask
  std::string source;          // "cohen" (adults) or "kermany" (children)
  std::string split;           // "train", "val", "test"
};

// Reads <data_dir>/manifest.csv (quoted CSV, header with image,mask,source,split columns).
// Throws DatasetError naming the file, line and column. (A stop-gap until the dataset module
// offers the same.)
std::vector<MaskRow> read_mask_rows(const std::filesystem::path& data_dir);

// Rows of `split` that have a mask (split "" = any).
std::vector<MaskRow> rows_with_masks(const std::vector<MaskRow>& rows, const std::string& split);

}  // namespace gradgate
