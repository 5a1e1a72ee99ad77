// Issue #15, the torch-free half: hostile inputs get a clear error or a documented, warned
// behaviour, never a crash, a hang or gigabytes. Each test reproduced its case first.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <climits>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "dataset/csv_reader.h"
#include "gradgate/common/regular_file.h"
#include "gradgate/config.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/inputs.h"
#include "gradgate/lung_mask.h"
#include "gradgate/output_dir.h"
#include "gradgate/store/models_manifest.h"
#include "test_util.h"

using namespace gradgate;
namespace fs = std::filesystem;
using gradgate::testing::contains;
using gradgate::testing::error_of;

namespace {

void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

uint32_t crc32(const uint8_t* d, std::size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= d[i];
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

void put_be32(std::vector<uint8_t>& b, std::size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + k] = static_cast<uint8_t>(v >> (24 - 8 * k));
}

// A real small PNG whose IHDR is rewritten to claim `w` x `h` (CRC fixed): the bomb's header.
std::vector<uint8_t> png_claiming(uint32_t w, uint32_t h) {
  std::vector<uint8_t> b;
  cv::imencode(".png", cv::Mat::zeros(64, 64, CV_8UC1), b);
  put_be32(b, 16, w);
  put_be32(b, 20, h);
  put_be32(b, 29, crc32(&b[12], 17));
  return b;
}

// SOI, a baseline SOF0 claiming `w` x `h`, EOI: 25 bytes that once cost 110 s and 21.9 GB.
std::vector<uint8_t> jpeg_claiming(uint16_t w, uint16_t h) {
  return {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, static_cast<uint8_t>(h >> 8), static_cast<uint8_t>(h),
          static_cast<uint8_t>(w >> 8), static_cast<uint8_t>(w), 0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9};
}

// A little-endian TIFF header whose first directory says `w` x `h` (LONG values).
std::vector<uint8_t> tiff_claiming(uint32_t w, uint32_t h) {
  std::vector<uint8_t> b = {'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0};
  for (uint16_t tag : {uint16_t(256), uint16_t(257)}) {
    const uint32_t v = tag == 256 ? w : h;
    const uint8_t e[12] = {uint8_t(tag), uint8_t(tag >> 8), 4, 0, 1, 0, 0, 0,
                           uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
    b.insert(b.end(), e, e + 12);
  }
  b.insert(b.end(), {0, 0, 0, 0});
  return b;
}

}  // namespace

// ---- 1. decompression bombs: one pixel limit, from the header, images and masks ----

TEST(Reliability, BombHeadersAreRefusedBeforeDecodingForImagesAndMasks) {
  gradgate::testing::TempDir tmp;
  write_bytes(tmp / "bomb.jpg", jpeg_claiming(16000, 16000));
  write_bytes(tmp / "bomb.png", png_claiming(16384, 16384));
  write_bytes(tmp / "bomb.tif", tiff_claiming(30000, 30000));
  for (const char* name : {"bomb.jpg", "bomb.png", "bomb.tif"}) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string e = error_of([&] { load_gray(tmp / name); });
    EXPECT_TRUE(contains(e, "too large") && contains(e, "refused before decoding")) << name << ": " << e;
    const std::string m = error_of([&] { read_mask_file(tmp / name, std::nullopt, nullptr); });
    EXPECT_TRUE(contains(m, "too large") && contains(m, "lung mask file")) << name << ": " << m;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0) << name;
  }
  EXPECT_EQ(max_image_pixels(), kDefaultMaxImagePixels);  // the test runs without the variable
}

TEST(Reliability, ImagesWithinTheLimitStillLoadAndTiffSizesAreRead) {
  gradgate::testing::TempDir tmp;
  ASSERT_TRUE(cv::imwrite((tmp / "ok.tif").string(), cv::Mat(40, 50, CV_16UC1, cv::Scalar(1000))));
  const cv::Mat g = load_gray(tmp / "ok.tif");
  EXPECT_EQ(g.size(), cv::Size(50, 40));
}

// ---- 5. degenerate images ----

TEST(Reliability, ImagesBelowTheMinimumSideAreRefused) {
  gradgate::testing::TempDir tmp;
  ASSERT_TRUE(cv::imwrite((tmp / "one.png").string(), cv::Mat(1, 1, CV_8UC1, cv::Scalar(9))));
  ASSERT_TRUE(cv::imwrite((tmp / "thin.png").string(), cv::Mat(31, 400, CV_8UC1, cv::Scalar(9))));
  ASSERT_TRUE(cv::imwrite((tmp / "ok.png").string(), cv::Mat(32, 32, CV_8UC1, cv::Scalar(9))));
  EXPECT_TRUE(contains(error_of([&] { load_gray(tmp / "one.png"); }), "1x1 pixels is too small"));
  EXPECT_TRUE(contains(error_of([&] { load_gray(tmp / "thin.png"); }), "too small"));
  EXPECT_NO_THROW(load_gray(tmp / "ok.png"));
}

// ---- 4. only regular files are opened ----

TEST(Reliability, FifosDevicesAndFoldersAreRefusedWithoutHanging) {
  gradgate::testing::TempDir tmp;
  const fs::path fifo = tmp / "pipe.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const fs::path fifo_csv = tmp / "pipe.csv";
  ASSERT_EQ(::mkfifo(fifo_csv.c_str(), 0600), 0);
  fs::create_directories(tmp / "folder.png");
  EXPECT_TRUE(contains(error_of([&] { load_gray(fifo); }), "FIFO"));
  EXPECT_TRUE(contains(error_of([&] { read_mask_file(fifo, std::nullopt, nullptr); }), "FIFO"));
  EXPECT_TRUE(contains(error_of([&] { load_gray("/dev/zero"); }), "device"));
  EXPECT_TRUE(contains(error_of([&] { load_gray(tmp / "folder.png"); }), "folder"));
  EXPECT_TRUE(contains(error_of([&] { dataset_detail::CsvReader r(fifo_csv); }), "FIFO"));
  // A symlink to a FIFO is a FIFO after resolving.
  fs::create_symlink(fifo, tmp / "link.png");
  EXPECT_TRUE(contains(error_of([&] { load_gray(tmp / "link.png"); }), "FIFO"));
  EXPECT_EQ(regular_file_problem(tmp / "nothing.png"), "not found");
}

TEST(Reliability, APathLongerThanPathMaxIsReportedAsTooLong) {
  const fs::path p = fs::path("/tmp") / std::string(PATH_MAX + 10, 'a');
  EXPECT_TRUE(contains(regular_file_problem(p), "path too long")) << regular_file_problem(p);
  EXPECT_TRUE(contains(error_of([&] { load_gray(p); }), "path too long"));
  EXPECT_TRUE(contains(error_of([&] { collect_inputs({p.string()}); }), "path too long"));
}

TEST(Reliability, InputsStreamACsvRowByRow) {
  gradgate::testing::TempDir tmp;
  {
    std::ofstream csv(tmp / "many.csv");
    csv << "path,label\n";
    for (int i = 0; i < 5000; ++i) csv << "missing/" << i << ".png,normal\n";
  }
  InputStream stream({(tmp / "many.csv").string()});
  InputImage in;
  ASSERT_TRUE(stream.next(in));
  EXPECT_EQ(in.image.filename(), "0.png");
  std::size_t n = 1;
  while (stream.next(in)) ++n;
  EXPECT_EQ(n, 5000u);
}

TEST(Reliability, ACsvFieldThatNeverEndsIsAnErrorNotAllOfMemory) {
  gradgate::testing::TempDir tmp;
  { std::ofstream(tmp / "big.csv") << "path,label\n" << std::string(200 * 1024, 'x') << ",normal\n"; }
  dataset_detail::CsvReader r(tmp / "big.csv");
  std::vector<std::string> f;
  ASSERT_TRUE(r.next(f));
  EXPECT_TRUE(contains(error_of([&] { r.next(f); }), "longer than 64 KiB"));
}

// ---- 2 and 11. the output folder: a lock, and a rerun clears its own earlier outputs ----

TEST(Reliability, ASecondRunIntoALockedOutputFolderFailsNamingItAndThePid) {
  gradgate::testing::TempDir tmp;
  const fs::path out = tmp / "out";
  {
    OutputLock first(out);
    const std::string e = error_of([&] { OutputLock second(out); });
    EXPECT_TRUE(contains(e, out.string()) && contains(e, "in use by another gradgate run")) << e;
    EXPECT_TRUE(contains(e, "pid " + std::to_string(::getpid()))) << e;
  }
  EXPECT_NO_THROW(OutputLock again(out));  // released with its holder
}

TEST(Reliability, ARerunRemovesOnlyTheEarlierRunsOwnOutputs) {
  gradgate::testing::TempDir tmp;
  const fs::path out = tmp / "out";
  const auto touch = [](const fs::path& p) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
  };
  for (const char* f : {"run.json", "results.csv", "results.jsonl.part", "montage/a.png", "overlays/a/resnet18.png",
                        "maps/a/mask.npy", "montage/notes.txt", "overlays/a/mine.jpg", "README.md"})
    touch(out / f);
  EXPECT_EQ(clear_previous_outputs(out), 6u);
  for (const char* gone : {"run.json", "results.csv", "results.jsonl.part", "montage/a.png",
                           "overlays/a/resnet18.png", "maps"})
    EXPECT_FALSE(fs::exists(out / gone)) << gone;
  for (const char* kept : {"montage/notes.txt", "overlays/a/mine.jpg", "README.md"})
    EXPECT_TRUE(fs::exists(out / kept)) << kept;
  // Without a run.json the folder is not a classify output: nothing is touched.
  touch(tmp / "other/montage/a.png");
  EXPECT_EQ(clear_previous_outputs(tmp / "other"), 0u);
  EXPECT_TRUE(fs::exists(tmp / "other/montage/a.png"));
}

// ---- 9. folder inputs ----

TEST(Reliability, FolderInputsSkipLoopsUseMasksBesideAndExcludeTheOutputFolder) {
  gradgate::testing::TempDir tmp;
  const fs::path in = tmp / "in";
  const cv::Mat img(40, 40, CV_8UC1, cv::Scalar(100));
  fs::create_directories(in / "out/montage");
  for (const char* f : {"x.png", "x_mask.png", "y.png", "out/montage/x.png"})
    ASSERT_TRUE(cv::imwrite((in / f).string(), img));
  fs::create_symlink("loop.png", in / "loop.png");  // a symlink to itself
  fs::create_symlink(".", in / "again");            // a folder link back up: not followed
  std::vector<std::string> warnings;
  const auto inputs = collect_inputs({in.string()}, {in / "out"}, &warnings);
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].image.filename(), "x.png");
  ASSERT_TRUE(inputs[0].mask.has_value());
  EXPECT_EQ(inputs[0].mask->filename(), "x_mask.png");
  EXPECT_EQ(inputs[1].image.filename(), "y.png");
  EXPECT_FALSE(inputs[1].mask.has_value());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(contains(warnings[0], "loop.png")) << warnings[0];
}

// ---- 5. degenerate masks ----

TEST(Reliability, MaskValidityRefusesWhiteGradientNoiseAndSpecks) {
  const cv::Size size(200, 160);
  cv::Mat lungs = cv::Mat::zeros(size, CV_8UC1);
  cv::ellipse(lungs, {60, 80}, {30, 55}, 0, 0, 360, 255, -1);
  cv::ellipse(lungs, {140, 80}, {30, 55}, 0, 0, 360, 255, -1);
  EXPECT_TRUE(mask_validity(lungs).valid) << mask_validity(lungs).reason;

  const cv::Mat white(size, CV_8UC1, cv::Scalar(255));
  EXPECT_TRUE(contains(mask_validity(white).reason, "covers 100%"));
  cv::Mat gradient(size, CV_8UC1);
  for (int x = 0; x < size.width; ++x) gradient.col(x).setTo(x * 255 / size.width);
  EXPECT_FALSE(mask_validity(gradient > 0).valid);  // as read_mask_file binarises it
  cv::Mat noise(size, CV_8UC1);
  cv::randu(noise, 0, 256);
  noise = noise > 128;
  EXPECT_TRUE(contains(mask_validity(noise).reason, "ragged")) << mask_validity(noise).reason;
  cv::Mat sparse(size, CV_8UC1);
  cv::randu(sparse, 0, 256);
  sparse = sparse > 220;  // 14%: scattered dots
  EXPECT_TRUE(contains(mask_validity(sparse).reason, "fragmented")) << mask_validity(sparse).reason;
  // Small lungs on a small image are still lungs.
  cv::Mat small = cv::Mat::zeros(40, 40, CV_8UC1);
  cv::ellipse(small, {12, 20}, {5, 12}, 0, 0, 360, 255, -1);
  cv::ellipse(small, {28, 20}, {5, 12}, 0, 0, 360, 255, -1);
  EXPECT_TRUE(mask_validity(small).valid) << mask_validity(small).reason;
  cv::Mat speck = cv::Mat::zeros(size, CV_8UC1);
  cv::circle(speck, {100, 80}, 4, 255, -1);
  EXPECT_TRUE(contains(mask_validity(speck).reason, "too small"));
}

TEST(Reliability, AGreyMaskFileIsWarnedAboutAsNotBinary) {
  gradgate::testing::TempDir tmp;
  cv::Mat gradient(64, 64, CV_8UC1);
  for (int x = 0; x < 64; ++x) gradient.col(x).setTo(x * 4);
  ASSERT_TRUE(cv::imwrite((tmp / "g.png").string(), gradient));
  std::vector<std::string> warnings;
  read_mask_file(tmp / "g.png", std::nullopt, &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(contains(warnings[0], "not binary"));
}

TEST(Reliability, RealMasksOfTheCxrSetAreValid) {
  GRADGATE_REQUIRE_CXR(data);
  dataset_detail::CsvReader csv(data / "manifest.csv");
  std::vector<std::string> header, row;
  ASSERT_TRUE(csv.next(header));
  const auto col = std::find(header.begin(), header.end(), "mask") - header.begin();
  ASSERT_LT(static_cast<std::size_t>(col), header.size());
  int checked = 0;
  while (csv.next(row) && checked < 300) {
    if (row[col].empty()) continue;
    const cv::Mat m = read_mask_file(data / row[col], std::nullopt, nullptr);
    const MaskValidity v = mask_validity(m);
    EXPECT_TRUE(v.valid) << row[col] << ": " << v.reason;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// ---- 6. strict option validation, the task files' rules ----

TEST(Reliability, MemberListsQuorumsPresetsAndThreadsAreCheckedNotClamped) {
  EXPECT_TRUE(parse_member_list("", "--members").empty());
  EXPECT_EQ(parse_member_list("resnet18, alexnet", "--members"), (std::vector<std::string>{"resnet18", "alexnet"}));
  EXPECT_TRUE(contains(error_of([] { parse_member_list(",", "--members"); }), "empty member name"));
  EXPECT_TRUE(contains(error_of([] { parse_member_list("alexnet,,vgg16", "--members"); }), "empty member name"));
  EXPECT_TRUE(contains(error_of([] { parse_member_list("alexnet,alexnet", "--members"); }), "listed twice"));
  EXPECT_TRUE(contains(error_of([] { parse_member_list("resnet17", "--members"); }), "valid networks"));
  EXPECT_THROW(checked_quorum(0, 19, "--quorum"), ConfigError);
  EXPECT_THROW(checked_quorum(-1, 19, "--quorum"), ConfigError);
  EXPECT_THROW(checked_quorum(100, 19, "--quorum"), ConfigError);
  EXPECT_EQ(checked_quorum(19, 19, "--quorum"), 19);
  const std::string preset = error_of([] { checked_preset("huge", "--preset"); });
  EXPECT_TRUE(contains(preset, "full") && contains(preset, "tiny")) << preset;
  EXPECT_THROW(checked_threads(-3, "--threads"), ConfigError);
  EXPECT_EQ(checked_threads(0, "--threads"), 0);
}

// ---- 8. a models manifest's input side is bounded as networks.yaml's ----

TEST(Reliability, AManifestInputSideOutOfBoundsIsRefused) {
  gradgate::testing::TempDir tmp;
  { std::ofstream(tmp / "alexnet.pt") << "x"; }
  ModelsManifest mf = gradgate::testing::one_member_manifest("alexnet", "compact", 999999, 1.0, tmp / "alexnet.pt");
  save_models_manifest(mf, tmp.path());
  EXPECT_TRUE(contains(error_of([&] { load_models_manifest(tmp.path()); }), "[32, 2048]"));
  mf.members[0].input_side = 16;
  save_models_manifest(mf, tmp.path());
  EXPECT_THROW(load_models_manifest(tmp.path()), ConfigError);
  mf.members[0].input_side = 128;
  save_models_manifest(mf, tmp.path());
  EXPECT_NO_THROW(load_models_manifest(tmp.path()));
}
