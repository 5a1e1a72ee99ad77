#pragma once
// The shortcut benchmark's data: real chest X-rays with a visible marker planted strictly
// outside the lung mask, correlated with one class in training and reversed in a test split.
// A member that learned the marker instead of the lungs fails the reversed split, and where its
// Grad-CAM mass lies on the marker is known exactly: the ground truth the gate is judged on.
// OpenCV + std only, no torch.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/enum_names.h"

namespace gradgate {

enum class MarkerKind {
  Square,  // a bright filled square (a lead marker, a sticker)
  Letter,  // a burnt-in letter ("L" / "R" side markers)
  Tag,     // a text tag on a dark box ("PORTABLE", as bedside films carry)
};
inline const EnumNames<MarkerKind>& marker_kind_names() {
  static const EnumNames<MarkerKind> t(
      "marker kind", {{MarkerKind::Square, "square"}, {MarkerKind::Letter, "letter"}, {MarkerKind::Tag, "tag"}});
  return t;
}
inline const char* to_string(MarkerKind k) { return marker_kind_names().to_string(k); }
inline MarkerKind marker_kind_from_string(const std::string& s) {
  return marker_kind_names().from_string(s);
}

struct MarkerPlacement {
  MarkerKind kind = MarkerKind::Square;
  cv::Rect box;      // where the marker is drawn (inside the image)
  std::string text;  // the letter or the tag's text; empty for a square
};

// Chooses where a marker of `kind` goes on an image with lung mask `lung` (CV_8UC1, non-zero
// = lung; its size is the image's). The box, grown by `margin` (a fraction of the shorter
// side) on every side, must not touch a lung pixel. Positions are drawn from `seed` alone.
// Returns nothing when no position fits (a film whose lungs fill it).
std::optional<MarkerPlacement> place_marker(const cv::Mat& lung, MarkerKind kind, uint64_t seed,
                                            double margin = 0.03);

// Draws the marker into `gray` (CV_32FC1 in [0,1], changed in place) and returns the marker's
// mask (CV_8UC1, 255 on the box), the region "looking at the marker" is measured on.
cv::Mat draw_marker(cv::Mat& gray, const MarkerPlacement& marker);

struct ShortcutOptions {
  std::string task = "pneumonia";   // a task of config/tasks/
  std::string marked_class;         // the class the marker goes with in training; empty: the last
  double rate = 0.95;               // P(marker | marked class) in training; 1 - rate for the others
  std::vector<MarkerKind> kinds = {MarkerKind::Square, MarkerKind::Letter, MarkerKind::Tag};
  uint64_t seed = 1;
  double margin = 0.03;
  // The source set's val patients are split in two (by a hash of the patient id): one half is
  // the benchmark's val split, the other its test split. The source's own test split is not
  // used: the benchmark needs lung masks, which Kermany's test images lack.
  std::filesystem::path config_dir; // empty: default_config_dir()
};

struct ShortcutSummary {
  int train = 0, val = 0, test = 0;   // rows written per split
  int marked_train = 0, marked_val = 0;
  int marked_reversed = 0;            // test images that carry a marker in the reversed split
  int skipped_no_room = 0;            // images where no position kept clear of the lungs
  int skipped_no_mask = 0;            // rows without a lung mask
  std::string marked_class;
};

// Reads the cxr manifest `source_manifest`, keeps the task's rows that have a lung mask, and
// writes into `out`:
//   images/<split>/<stem>.png      train and val images (marked per the rate) and the
//                                  reversed test images (marked per the reversed rate)
//   markers/<split>/<stem>.png     each planted marker's mask (255 = marker)
//   manifest.csv                   train, val, and the CLEAN test split (the source images)
//   manifest-reversed.csv          the same train and val, the REVERSED test split
//   test-clean.csv, test-reversed.csv  the test rows alone (ensemble-classify's input: the
//                                  rows carry the lung masks, so the gate uses the true ones)
//   markers.csv                    image, split, variant (train|val|reversed), marker kind,
//                                  marker mask, lung mask, class
// Every file is written atomically; the same options give byte-identical files. Throws Error
// naming the file or option on bad input; `out` must not already hold a manifest.csv.
ShortcutSummary make_shortcut_dataset(const std::filesystem::path& source_manifest,
                                      const std::filesystem::path& out, const ShortcutOptions& o);

}  // namespace gradgate
