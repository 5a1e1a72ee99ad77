#pragma once
// Internal: how open_dataset() tells the CSV formats apart.
#include <string>
#include <vector>

namespace gradgate::dataset_detail {

// True when a CSV header has every column the manifest requires.
bool is_manifest_header(const std::vector<std::string>& header);

}  // namespace gradgate::dataset_detail
