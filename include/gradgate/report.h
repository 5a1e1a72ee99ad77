#pragma once
// The output side of ensemble-classify: results.csv / results.jsonl (one row per image),
// run.json (the run's settings), per-member overlays, a montage of all members per image,
// optional raw maps as .npy, and a progress bar. OpenCV + std only, no torch.
// Every file is written atomically (a temp file, then a rename); docs/outputs.md lists the
// files and columns.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/cam_method.h"
#include "gradgate/common/atomic_file.h"
#include "gradgate/domain.h"
#include "gradgate/enum_names.h"
#include "gradgate/gate.h"
#include "gradgate/outcome.h"
#include "gradgate/vote.h"

namespace gradgate {

// "0.1.0" (the CMake project version).
const char* gradgate_version();

// Files are written with gradgate/common/atomic_file.h (`<path>.tmp-<pid>-<n>` in the same
// folder, renamed onto `path`) and images with gradgate/common/png.h's write_png_file.

// ---- NPY v1.0 (numpy.load reads it; no numpy needed to write) ----

// `m`: single-channel, 2-D, CV_32F ('<f4'), CV_64F ('<f8') or CV_8U ('|u1'); C order,
// shape (rows, cols). Written atomically.
void write_npy(const std::filesystem::path& path, const cv::Mat& m);
// Reads what write_npy writes (v1.0/2.0, '<f4' | '<f8' | '|u1', C order, 2-D). Throws Error
// naming the file on anything else.
cv::Mat read_npy(const std::filesystem::path& path);

// ---- output names ----

// A file-name-safe stem: [A-Za-z0-9._-] kept, everything else '_', no leading '.', at most
// 100 bytes, never empty ("image").
std::string sanitize_stem(const std::string& stem);

// Gives every image a unique output stem (overlays/<stem>/, montage/<stem>.png, maps/<stem>/).
// The first image with stem `x` gets `x`, later different images with the same sanitized stem
// get `x_2`, `x_3`, ... (compared case-insensitively, so case-insensitive file systems are
// safe). The same path always gets the same stem. Thread-safe.
class OutputNames {
 public:
  std::string stem_for(const std::filesystem::path& image);

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> by_path_;
  std::set<std::string> used_lower_;
};

// ---- the run's settings (run.json) ----

struct RunInfo {
  std::string task;
  std::vector<std::string> classes;
  std::vector<std::string> members;    // in ensemble (gate) order; the CSV columns follow it
  std::vector<std::string> untrained;  // members running with random weights
  std::string preset;
  GateOptions gate;
  std::string gate_source = "task";  // where gate and vote came from beneath the CLI (classify.h resolve_gate)
  VoteRule vote = VoteRule::Soft;
  CamMethod cam = CamMethod::GradCam;
  CamLayer cam_layer = CamLayer::Fine;
  // The domain check (domain.h) in force: its mode, the domain.pt scored with and the rule
  // (the models manifest's), or a one-line note saying why no image is checked.
  DomainMode domain_mode = DomainMode::Off;
  std::string domain_model;
  std::string domain_rule;
  std::string domain_note;
  std::vector<std::string> inputs;     // the CLI's INPUT arguments (informational)
  std::string date;                    // ISO 8601 UTC; filled at start when empty
  std::string version = gradgate_version();
};

// ---- rendering (pure functions; used by ReportWriter, public for callers and tests) ----

struct RenderOptions {
  int overlay_side = 512;   // overlay PNGs: the image is scaled so its longer side is this
  int tile_side = 224;      // montage tiles: the image is fitted into a tile_side square
  int montage_columns = 0;  // 0: ceil(sqrt(tiles))
  double alpha = 0.45;      // weight of the colour map in the blend
  int colormap = 2;         // cv::ColormapTypes; 2 = COLORMAP_JET, 20 = COLORMAP_TURBO
  // All members' maps of one image on one colour scale, so tiles compare: each map as its mass
  // density relative to a uniform map (raw Grad-CAM magnitudes differ by orders of magnitude
  // between architectures), full colour = the largest density of any member over blocks of an
  // eighth of a tile's side (a saliency map's single-pixel peaks saturate), shown on the
  // montage's colour bar ("0 ... 7.3x uniform"); false: each map at its own maximum.
  bool common_scale = true;
  // The gate's setting as the montage's decision tile states it (e.g. "share >= 0.500,
  // quorum 3"); ReportWriter fills it from the run.
  std::string gate_text;
};

// The one name table of colour maps: "jet" | "turbo" | "inferno" | "viridis" -> cv::ColormapTypes.
const EnumNames<int>& colormap_names();
// Case-insensitive -> RenderOptions::colormap; throws ConfigError listing the valid names.
int colormap_from_string(const std::string& name);

// Display size of an image of `size` with its longer side scaled to `side`.
cv::Size display_size(cv::Size size, int side);
// Height of the caption bar under each overlay/tile (two text lines).
int caption_height(int width);

// The gray image with `map` (normalised to its maximum, colour-mapped, alpha-blended; no heat
// when the map is empty or all zero) and the lung mask contour in green, at `display`.
// `gray` CV_32FC1 [0,1], `map` CV_32FC1 at the gray's size (or empty), `mask` CV_8UC1 (or
// empty). Returns CV_8UC3 BGR.
cv::Mat render_heat(const cv::Mat& gray, const cv::Mat& map, const cv::Mat& mask,
                    cv::Size display, const RenderOptions& options);

// One member's overlay: render_heat at display_size(gray, overlay_side) with a caption bar
// below (member, label, probability, in-lung share, KEPT/DROPPED). Size:
// display.width x (display.height + caption_height(display.width)).
cv::Mat render_overlay(const ImageOutcome& outcome, size_t member,
                       const std::vector<std::string>& classes, const RenderOptions& options);

// render_overlay for every member, sharing the resized image and mask contour.
std::vector<cv::Mat> render_overlays(const ImageOutcome& outcome,
                                     const std::vector<std::string>& classes,
                                     const RenderOptions& options);

struct MontageLayout {
  int tiles = 0, columns = 0, rows = 0;
  int tile_width = 0, tile_height = 0;  // including the border and the caption bar
  cv::Size size() const { return {columns * tile_width, rows * tile_height}; }
};
// `members` member tiles plus the decision tile.
MontageLayout montage_layout(size_t members, const RenderOptions& options);

// All members in a grid: first the image with its mask contour and the final decision (label
// and probability, or ABSTAIN and the reason), then one tile per member (kept: green border,
// dropped: red border and a red DROPPED). Size: montage_layout(members).size(); CV_8UC3.
cv::Mat render_montage(const ImageOutcome& outcome, const std::vector<std::string>& classes,
                       const RenderOptions& options);

// ---- results.csv / results.jsonl ----

// Streams one row per image into <out>/results.csv.part and <out>/results.jsonl.part
// (flushed after every row); finish() renames them to results.csv / results.jsonl. A .part
// file therefore means an unfinished (killed or failed) run. Thread-safe.
class ResultWriter {
 public:
  // Throws Error naming the file when the folder cannot be created or a file not opened.
  // `open_files` false: rows are only formatted (format()), for a rank of a sharded run
  // whose rows rank 0 writes; add() and finish() are then errors.
  ResultWriter(const std::filesystem::path& out_dir, const RunInfo& run, bool open_files = true);
  ~ResultWriter();  // without finish(): closes and leaves the .part files
  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;

  // `stem`: the image's output stem (OutputNames); `outputs`: files written for the image,
  // relative to the output folder (key -> path, e.g. "montage" -> "montage/x.png"), listed in
  // the JSONL row. Members are matched to the header's columns by name; an outcome member
  // not in RunInfo::members is an std::invalid_argument.
  void add(const ImageOutcome& outcome, const std::string& stem,
           const std::map<std::string, std::string>& outputs = {});
  // add() in two steps: the row's CSV and JSONL lines, and their appending (in row order).
  std::pair<std::string, std::string> format(const ImageOutcome& outcome, const std::string& stem,
                                             const std::map<std::string, std::string>& outputs) const;
  void append(const std::string& csv_line, const std::string& json_line);
  void finish();

  // The CSV header (also the order of the fields in every row).
  const std::vector<std::string>& csv_columns() const { return columns_; }
  size_t rows() const;

 private:
  std::string csv_row(const ImageOutcome& o, const std::string& stem) const;
  std::string json_row(const ImageOutcome& o, const std::string& stem,
                       const std::map<std::string, std::string>& outputs) const;

  RunInfo run_;
  std::filesystem::path dir_;
  std::vector<std::string> columns_;
  mutable std::mutex mutex_;
  std::FILE* csv_ = nullptr;
  std::FILE* jsonl_ = nullptr;
  size_t rows_ = 0;
  bool finished_ = false;
};

// ---- everything for one run ----

struct ReportOptions {
  std::filesystem::path out_dir = "out";
  // false: no run.json and no results files, only the images' own files (a rank of a sharded
  // run other than 0: rank 0 writes the results).
  bool results = true;
  bool overlays = true;   // <out>/overlays/<stem>/<member>.png
  bool montage = true;    // <out>/montage/<stem>.png
  bool save_maps = false; // <out>/maps/<stem>/<member>.npy (float32) and mask.npy (uint8)
  RenderOptions render;
};

struct ReportCounts {
  size_t images = 0, ok = 0, errors = 0, abstained = 0;
};

// One image's outputs as ReportWriter::prepare leaves them: its files written, its result
// lines formatted, not yet appended. What a rank of a sharded run sends to rank 0.
struct PreparedRow {
  std::string csv, json;
  bool ok = false, abstained = false;
};

// Writes run.json at construction (finished: false), then per add() the CSV/JSONL rows and
// the image files; finish() renames the .part files and rewrites run.json with the counts
// and finished: true. add() is thread-safe (rendering runs outside the lock).
class ReportWriter {
 public:
  ReportWriter(ReportOptions options, RunInfo run);
  ~ReportWriter();

  // Writes everything for one image. An error outcome gets its row and no image files. A
  // failure to write an image file is thrown (Error naming the path).
  void add(const ImageOutcome& outcome);
  void finish();

  // add() in two steps, for sharded runs (classify.h): prepare writes the image's files under
  // `stem` (empty for an error row) and formats its rows; append adds them to the results in
  // the order it is called and counts them.
  PreparedRow prepare(const ImageOutcome& outcome, const std::string& stem);
  void append(const PreparedRow& row);

  const ReportCounts& counts() const { return counts_; }
  const RunInfo& run() const { return run_; }
  // Optional: assign stems in input order before classifying, so names do not depend on the
  // order in which parallel batches finish.
  std::string stem_for(const std::filesystem::path& image) { return names_.stem_for(image); }

 private:
  void write_run_json(bool finished);

  ReportOptions options_;
  RunInfo run_;
  std::chrono::system_clock::time_point started_;
  OutputNames names_;
  std::unique_ptr<ResultWriter> results_;
  std::mutex mutex_;
  ReportCounts counts_;
};

// ---- progress on stderr ----

// [#########           ]  45/100  3.2 img/s  ETA 17s
// On a terminal the line is redrawn in place (\r, at most ~10 times a second and always at
// the end); otherwise a line is printed each time another ~10% is done, and at the end.
// total == 0 means unknown: no bar and no ETA. Thread-safe.
class ProgressBar {
 public:
  enum class Mode { Auto, Terminal, Lines, Off };  // Auto: Terminal when stderr is a TTY
  ProgressBar(size_t total, std::string label, Mode mode = Mode::Auto, std::FILE* out = stderr);
  ~ProgressBar();  // calls finish()

  void update(size_t done);  // absolute count; smaller than before is ignored
  void tick(size_t n = 1);   // done += n
  void finish();             // final line (newline on a terminal); idempotent

  // The text of one line for `done` after `seconds` (no \r or newline): for tests and logs.
  std::string line(size_t done, double seconds) const;

 private:
  void draw(size_t done, bool final);

  size_t total_;
  std::string label_;
  Mode mode_;
  std::FILE* out_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  size_t done_ = 0;
  int last_decile_ = -1;
  bool finished_ = false;
};

}  // namespace gradgate
