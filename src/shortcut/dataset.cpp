// The shortcut benchmark's data set: every image re-encoded the same way (so the file format
// is no second shortcut), markers drawn per a seeded rate, three manifests and a marker list.
#include <tbb/parallel_for.h>

#include <random>

#include "gradgate/common/atomic_file.h"
#include "gradgate/common/fnv1a.h"
#include "gradgate/common/png.h"
#include "gradgate/common/seed.h"
#include "gradgate/config.h"
#include "gradgate/dataset.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/lung_mask.h"
#include "gradgate/shortcut.h"
#include "report/format.h"

namespace gradgate {

namespace fs = std::filesystem;
using report_detail::csv_line;

namespace {
enum Variant { kTrain, kVal, kClean, kReversed };
const char* variant_name(int v) {
  static const char* names[] = {"train", "val", "clean", "reversed"};
  return names[v];
}

struct Row {
  Sample sample;
  int label = 0;
  Split split = Split::Train;  // of the benchmark
  std::string stem;     // output file stem, unique
  bool usable = false;  // a marker fits clear of the lungs
  // Per variant the image is written in (train or val; clean and reversed for test):
  std::string image_rel[4], marker_rel[4];
  MarkerKind kind[4] = {};
  bool marked[4] = {false, false, false, false};
};

// The gray image as an 8-bit PNG at `path` (temp file and rename).
void write_gray_png(const fs::path& path, const cv::Mat& gray) {
  cv::Mat u8;
  gray.convertTo(u8, CV_8U, 255.0);
  write_png_file(path, u8);
}

// P(marker) for a row in a variant: the marked class gets `rate` in training and validation,
// the others 1 - rate; the reversed test split swaps the two; the clean one has none.
double marker_probability(int variant, bool marked_class, double rate) {
  switch (variant) {
    case kTrain:
    case kVal: return marked_class ? rate : 1.0 - rate;
    case kReversed: return marked_class ? 1.0 - rate : rate;
    default: return 0.0;
  }
}

}  // namespace

ShortcutSummary make_shortcut_dataset(const fs::path& source_manifest, const fs::path& out,
                                      const ShortcutOptions& o) {
  if (!(o.rate >= 0.0 && o.rate <= 1.0))
    throw ConfigError("shortcut rate must lie in [0,1], got " + std::to_string(o.rate));
  if (o.kinds.empty()) throw ConfigError("shortcut: no marker kinds given");
  if (!(o.margin >= 0.0 && o.margin < 0.5))
    throw ConfigError("shortcut margin must lie in [0, 0.5), got " + std::to_string(o.margin));
  if (fs::exists(out / "manifest.csv"))
    throw Error(out.string() + " already holds a manifest.csv; choose a new folder");
  const TaskConfig task =
      load_task(o.task, o.config_dir.empty() ? default_config_dir() : o.config_dir);
  const auto& classes = task.task.classes;
  const std::string marked = o.marked_class.empty() ? classes.back() : o.marked_class;
  const auto marked_it = std::find(classes.begin(), classes.end(), marked);
  if (marked_it == classes.end())
    throw ConfigError("shortcut: class '" + marked + "' is not a class of task " + o.task);
  const int marked_label = static_cast<int>(marked_it - classes.begin());

  // The task's rows with a lung mask, outside the source's test split.
  ShortcutSummary sum;
  sum.marked_class = marked;
  std::vector<Row> rows;
  {
    auto reader = open_manifest(source_manifest)->reader();
    Sample s;
    while (reader->next(s)) {
      if (!s.source.empty() && !task.task.uses_source(s.source)) continue;
      const auto label = task.task.label_of(s.diagnosis);
      if (!label || s.split == Split::Test || s.split == Split::Other) continue;
      if (!s.mask) {
        ++sum.skipped_no_mask;
        continue;
      }
      Row r;
      r.sample = s;
      r.label = *label;
      // Half the source's val patients (by a hash of the id) become the test split.
      r.split = s.split == Split::Train ? Split::Train : (fnv1a64(s.patient) & 1) ? Split::Test : Split::Val;
      r.stem = fnv1a64_hex(fnv1a64(s.image.filename().string(), fnv1a64(s.source)));
      rows.push_back(std::move(r));
    }
  }
  if (rows.empty())
    throw DatasetError(source_manifest.string() + ": no rows of task " + o.task +
                       " with a lung mask outside the test split");

  // Every image in parallel; each draws from its own seed, so the files do not depend on
  // the order threads take them in.
  std::vector<std::string> errors(rows.size());
  tbb::parallel_for(std::size_t{0}, rows.size(), [&](std::size_t i) {
    Row& r = rows[i];
    try {
      const cv::Mat gray = load_gray(r.sample.image);
      const cv::Mat lung = read_mask_file(*r.sample.mask, gray.size(), nullptr);
      const uint64_t img_seed = mix_seed(o.seed, fnv1a64(r.stem));
      const int variants[2] = {r.split == Split::Train ? kTrain : r.split == Split::Val ? kVal : kClean,
                               r.split == Split::Test ? kReversed : -1};
      // A film whose lungs leave no room for every kind is left out of all variants, so
      // leaving it out cannot depend on the class or the draw.
      std::vector<MarkerPlacement> places;
      for (std::size_t k = 0; k < o.kinds.size(); ++k) {
        auto p = place_marker(lung, o.kinds[k], mix_seed(img_seed, 1, k), o.margin);
        if (!p) return;
        places.push_back(*p);
      }
      r.usable = true;
      for (int v : variants) {
        if (v < 0) continue;
        std::mt19937_64 rng(mix_seed(img_seed, 2, static_cast<uint64_t>(v)));
        const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
        const std::size_t k = std::uniform_int_distribution<std::size_t>(0, places.size() - 1)(rng);
        cv::Mat img = gray.clone();
        const std::string dir = variant_name(v);
        if (u < marker_probability(v, r.label == marked_label, o.rate)) {
          const cv::Mat marker = draw_marker(img, places[k]);
          r.marked[v] = true;
          r.kind[v] = places[k].kind;
          r.marker_rel[v] = "markers/" + dir + "/" + r.stem + ".png";
          cv::Mat lung_hit;
          cv::bitwise_and(marker, lung, lung_hit);
          if (cv::countNonZero(lung_hit) != 0)  // place_marker guarantees this; check anyway
            throw Error("a marker touches the lungs on " + r.sample.image.string());
          write_png_file(out / r.marker_rel[v], marker);
        }
        r.image_rel[v] = "images/" + dir + "/" + r.stem + ".png";
        write_gray_png(out / r.image_rel[v], img);
      }
    } catch (const std::exception& e) {
      errors[i] = r.sample.image.string() + ": " + e.what();
    }
  });
  for (const auto& e : errors)
    if (!e.empty()) throw DatasetError("shortcut data set: " + e);

  const std::vector<std::string> header = {"image", "mask", "patient", "source", "finding",
                                           "diagnosis", "view", "split", "license", "citation"};
  std::string clean = csv_line(header), reversed = clean, test_clean = clean, test_reversed = clean;
  std::string markers = csv_line({"image", "split", "variant", "marked", "kind", "marker_mask",
                                  "lung_mask", "class"});
  for (const Row& r : rows) {
    if (!r.usable) {
      ++sum.skipped_no_room;
      continue;
    }
    const Sample& s = r.sample;
    for (int v = 0; v < 4; ++v) {
      if (r.image_rel[v].empty()) continue;
      const std::vector<std::string> fields = {r.image_rel[v], s.mask->string(), s.patient,
                                               s.source, s.finding, s.diagnosis, s.view,
                                               split_name(r.split), s.license, s.citation};
      const std::string line = csv_line(fields);
      if (v != kReversed) clean += line;
      if (v != kClean) reversed += line;
      if (v == kClean) test_clean += line;
      if (v == kReversed) test_reversed += line;
      markers += csv_line({r.image_rel[v], split_name(r.split), variant_name(v),
                           r.marked[v] ? "1" : "0", r.marked[v] ? to_string(r.kind[v]) : "",
                           r.marker_rel[v], s.mask->string(), classes[r.label]});
    }
    if (r.split == Split::Train) ++sum.train, sum.marked_train += r.marked[kTrain];
    if (r.split == Split::Val) ++sum.val, sum.marked_val += r.marked[kVal];
    if (r.split == Split::Test) ++sum.test, sum.marked_reversed += r.marked[kReversed];
  }
  // The manifests last: a folder with a manifest.csv is complete.
  write_file_atomic(out / "markers.csv", markers);
  write_file_atomic(out / "test-clean.csv", test_clean);
  write_file_atomic(out / "test-reversed.csv", test_reversed);
  write_file_atomic(out / "manifest-reversed.csv", reversed);
  write_file_atomic(out / "manifest.csv", clean);
  return sum;
}

}  // namespace gradgate
