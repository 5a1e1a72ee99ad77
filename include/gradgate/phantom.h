#pragma once
// Synthetic chest radiograph "phantoms": a body, two lung fields, spine, ribs and, for
// the opaque classes, patchy consolidation inside the lungs. They let the tests and the
// demo run the whole pipeline (training, Grad-CAM, gate, vote) without the real data.
// Not a model of real anatomy: a known answer with a known lung mask.
#include <cstdint>
#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

namespace gradgate {

struct PhantomOptions {
  int side = 224;            // output is side x side
  std::string diagnosis = "normal";  // normal | bacterial | viral | covid
  // Draws a bright text-like marker outside the body, in a corner chosen by the seed:
  // the kind of shortcut the Grad-CAM gate exists to catch.
  bool corner_marker = false;
  uint64_t seed = 0;
};

struct Phantom {
  cv::Mat image;  // CV_8UC1
  cv::Mat lungs;  // CV_8UC1, 255 = lung
};

Phantom make_phantom(const PhantomOptions& options);

// Writes `per_class` phantoms of each diagnosis (normal, bacterial, viral, covid) under
// `dir` (images/, masks/) and a manifest.csv in the cxr format (split 70/15/15 by a
// deterministic index pattern). The source column is left empty so every task, whatever
// sources it names, takes the phantoms. Returns the manifest path.
std::filesystem::path write_phantom_dataset(const std::filesystem::path& dir, int per_class,
                                            int side, uint64_t seed);

}  // namespace gradgate
