#pragma once
// Rules shared by the data set readers: what a file name says about its patient and
// label, and the deterministic split used when a data set does not give one.
#include <filesystem>
#include <string>

#include "gradgate/dataset.h"

namespace gradgate::dataset_detail {

// Patient id from a Kermany-style file name: person123_bacteria_456.jpeg -> person123,
// IM-0001-0001.jpeg -> IM-0001, NORMAL2-IM-1427-0001.jpeg -> NORMAL2-IM-1427; any other
// name -> its stem (one image per patient).
std::string patient_from_file_name(const std::filesystem::path& p);

// The diagnosis a folder or CSV label stands for: lower-cased; PNEUMONIA resolved to
// bacterial/viral when the file name says `bacteria`/`virus` (Kermany); COVID-19 -> covid.
std::string diagnosis_from_label(const std::string& label, const std::filesystem::path& file);

// 70/15/15 train/val/test by a stable hash (FNV-1a) of the key, so a patient's images
// land in one split and the split never changes between runs or machines.
Split hash_split(const std::string& key);

// `p` made absolute against `base` and normalised.
std::filesystem::path resolve_path(const std::filesystem::path& base, const std::string& p);

}  // namespace gradgate::dataset_detail
