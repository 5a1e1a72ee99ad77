// DICOM input (issue #16 item 4): files the tests write themselves with DCMTK come back
// through load_gray as float gray in [0,1], "bright = dense", with the file's rescale and
// window applied; what cannot be read is an ImageError naming the file, refused before the
// pixel data is decoded where the header tells. Torch-free (gradgate_core_tests).
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <opencv2/imgcodecs.hpp>

#include "gradgate/dataset.h"
#include "gradgate/error.h"
#include "gradgate/image.h"
#include "gradgate/inputs.h"
#include "gradgate/lung_mask.h"
#include "test_util.h"

using namespace gradgate;
using gradgate::testing::contains;
using gradgate::testing::error_of;
using gradgate::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// One image's header and pixels; the defaults are a 64x64 12-bit MONOCHROME2 X-ray.
struct DicomSpec {
  int rows = 64;
  int columns = 64;
  int samples = 1;
  int bits_allocated = 16;
  int bits_stored = 12;
  std::string photometric = "MONOCHROME2";
  std::vector<uint16_t> pixels;  // row-major (R,G,B interleaved for colour); 8-bit: the low byte
  std::string frames;            // Number of Frames, when not empty
  std::string window_center, window_width;
  std::string rescale_slope, rescale_intercept;
  std::vector<uint16_t> voi_lut;  // a VOI LUT over stored values 0.., 16-bit entries
  bool pixel_data = true;
};

DcmFileFormat make_file(const DicomSpec& s) {
  DcmFileFormat file;
  DcmDataset& d = *file.getDataset();
  char uid[100];
  d.putAndInsertString(DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation);
  d.putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  d.putAndInsertString(DCM_Modality, "DX");
  d.putAndInsertString(DCM_PhotometricInterpretation, s.photometric.c_str());
  d.putAndInsertUint16(DCM_SamplesPerPixel, static_cast<Uint16>(s.samples));
  if (s.samples > 1) d.putAndInsertUint16(DCM_PlanarConfiguration, 0);
  d.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(s.rows));
  d.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(s.columns));
  d.putAndInsertUint16(DCM_BitsAllocated, static_cast<Uint16>(s.bits_allocated));
  d.putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(s.bits_stored));
  d.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(s.bits_stored - 1));
  d.putAndInsertUint16(DCM_PixelRepresentation, 0);
  if (!s.frames.empty()) d.putAndInsertString(DCM_NumberOfFrames, s.frames.c_str());
  if (!s.window_center.empty()) {
    d.putAndInsertString(DCM_WindowCenter, s.window_center.c_str());
    d.putAndInsertString(DCM_WindowWidth, s.window_width.c_str());
  }
  if (!s.rescale_slope.empty()) {
    d.putAndInsertString(DCM_RescaleSlope, s.rescale_slope.c_str());
    d.putAndInsertString(DCM_RescaleIntercept, s.rescale_intercept.c_str());
    d.putAndInsertString(DCM_RescaleType, "US");
  }
  if (!s.voi_lut.empty()) {
    DcmItem* item = nullptr;
    d.findOrCreateSequenceItem(DCM_VOILUTSequence, item, -2);
    const Uint16 descriptor[3] = {static_cast<Uint16>(s.voi_lut.size()), 0, 16};
    item->putAndInsertUint16Array(DCM_LUTDescriptor, descriptor, 3);
    item->putAndInsertUint16Array(DCM_LUTData, s.voi_lut.data(), static_cast<unsigned long>(s.voi_lut.size()));
  }
  if (s.pixel_data) {
    if (s.bits_allocated == 8) {
      std::vector<Uint8> bytes(s.pixels.begin(), s.pixels.end());
      d.putAndInsertUint8Array(DCM_PixelData, bytes.data(), static_cast<unsigned long>(bytes.size()));
    } else {
      d.putAndInsertUint16Array(DCM_PixelData, s.pixels.data(), static_cast<unsigned long>(s.pixels.size()));
    }
  }
  return file;
}

void write_dicom(const fs::path& path, const DicomSpec& s, E_TransferSyntax syntax = EXS_LittleEndianExplicit) {
  DcmFileFormat file = make_file(s);
  if (syntax == EXS_RLELossless) {
    DcmRLEEncoderRegistration::registerCodecs();
    ASSERT_TRUE(file.getDataset()->chooseRepresentation(syntax, nullptr).good());
  }
  const OFCondition saved = file.saveFile(OFFilename(path.c_str()), syntax);
  ASSERT_TRUE(saved.good()) << path << ": " << saved.text();
}

// A header-only `s` (its pixel_data ignored) with `stream` as the one fragment of its
// encapsulated pixel data, saved in `syntax`.
void write_encapsulated(const fs::path& path, DicomSpec s, std::vector<uint8_t> stream, E_TransferSyntax syntax) {
  s.pixel_data = false;
  DcmFileFormat file = make_file(s);
  if (stream.size() % 2) stream.push_back(0);  // fragments have even lengths
  auto* sequence = new DcmPixelSequence(DCM_PixelSequenceTag);
  sequence->insert(new DcmPixelItem(DCM_PixelItemTag));  // the empty offset table
  auto* fragment = new DcmPixelItem(DCM_PixelItemTag);
  fragment->putUint8Array(stream.data(), static_cast<Uint32>(stream.size()));
  sequence->insert(fragment);
  auto* pixels = new DcmPixelData(DCM_PixelData);
  pixels->putOriginalRepresentation(syntax, nullptr, sequence);
  file.getDataset()->insert(pixels, true);
  const OFCondition saved = file.saveFile(OFFilename(path.c_str()), syntax);
  ASSERT_TRUE(saved.good()) << path << ": " << saved.text();
}

// `image` as a JPEG whose frame header (SOF) then claims `claimed` pixels a side when given.
std::vector<uint8_t> jpeg_of(const cv::Mat& image, bool progressive, std::optional<int> claimed = std::nullopt) {
  std::vector<uint8_t> jpeg;
  EXPECT_TRUE(cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95, cv::IMWRITE_JPEG_PROGRESSIVE, progressive}));
  if (claimed)
    for (std::size_t i = 0; i + 9 < jpeg.size(); ++i)
      if (jpeg[i] == 0xFF && (jpeg[i + 1] == 0xC0 || jpeg[i + 1] == 0xC2)) {
        jpeg[i + 5] = jpeg[i + 7] = static_cast<uint8_t>(*claimed >> 8);
        jpeg[i + 6] = jpeg[i + 8] = static_cast<uint8_t>(*claimed & 0xFF);
        break;
      }
  return jpeg;
}

DicomSpec eight_bit_header() {
  DicomSpec s;
  s.bits_allocated = 8;
  s.bits_stored = 8;
  return s;
}

// Three bands of columns (left, middle, right) holding `a`, `b`, `c`.
std::vector<uint16_t> bands(int rows, int columns, uint16_t a, uint16_t b, uint16_t c) {
  std::vector<uint16_t> px(static_cast<std::size_t>(rows) * columns);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < columns; ++x) px[y * columns + x] = x < columns / 3 ? a : x < 2 * columns / 3 ? b : c;
  return px;
}

DicomSpec banded(uint16_t a, uint16_t b, uint16_t c) {
  DicomSpec s;
  s.pixels = bands(s.rows, s.columns, a, b, c);
  return s;
}

// The gray value of each band, on row 10.
std::vector<float> band_values(const cv::Mat& g) {
  return {g.at<float>(10, 2), g.at<float>(10, g.cols / 2), g.at<float>(10, g.cols - 2)};
}

}  // namespace

TEST(Dicom, Monochrome2SixteenBitWithoutWindowSpansItsValuesMinToMax) {
  TempDir dir;
  write_dicom(dir / "m2.dcm", banded(1000, 2000, 3000));
  const cv::Mat g = load_gray(dir / "m2.dcm");
  ASSERT_EQ(g.type(), CV_32FC1);
  EXPECT_EQ(g.size(), cv::Size(64, 64));
  const auto v = band_values(g);
  EXPECT_NEAR(v[0], 0.0f, 1e-4);
  EXPECT_NEAR(v[1], 0.5f, 1e-3);
  EXPECT_NEAR(v[2], 1.0f, 1e-4);
}

TEST(Dicom, Monochrome2EightBitGivesItsValuesMinToMax) {
  TempDir dir;
  DicomSpec s = banded(10, 60, 210);
  s.bits_allocated = 8;
  s.bits_stored = 8;
  write_dicom(dir / "m2.dcm", s);
  const auto v = band_values(load_gray(dir / "m2.dcm"));
  EXPECT_NEAR(v[0], 0.0f, 1e-4);
  EXPECT_NEAR(v[1], 0.25f, 1e-3);
  EXPECT_NEAR(v[2], 1.0f, 1e-4);
}

TEST(Dicom, Monochrome1IsInvertedSoThatBrightIsDense) {
  TempDir dir;
  DicomSpec s = banded(1000, 1500, 3000);
  s.photometric = "MONOCHROME1";
  write_dicom(dir / "m1.dcm", s);
  const auto v = band_values(load_gray(dir / "m1.dcm"));
  EXPECT_NEAR(v[0], 1.0f, 1e-4);   // the lowest stored value is the brightest
  EXPECT_NEAR(v[1], 0.75f, 1e-3);
  EXPECT_NEAR(v[2], 0.0f, 1e-4);
}

TEST(Dicom, TheFirstWindowIsAppliedAndValuesOutsideItClip) {
  TempDir dir;
  // Window 2000 +- 500 (the first of two): 1000 is below it, 2000 its middle, 3000 above.
  DicomSpec s = banded(1000, 2000, 3000);
  s.window_center = "2000\\100";
  s.window_width = "1000\\50";
  write_dicom(dir / "w.dcm", s);
  const auto v = band_values(load_gray(dir / "w.dcm"));
  EXPECT_FLOAT_EQ(v[0], 0.0f);
  EXPECT_NEAR(v[1], 0.5f, 2e-3);
  EXPECT_FLOAT_EQ(v[2], 1.0f);
}

TEST(Dicom, RescaleSlopeAndInterceptAreAppliedBeforeTheWindow) {
  TempDir dir;
  // Stored s -> 2s - 1000; the window (center 0, width 400) is in rescaled units, so stored
  // 500 -> 0 is its middle and 550 -> 100 three quarters up. Without the rescale all three
  // bands would be above the window (1).
  DicomSpec s = banded(100, 500, 550);
  s.rescale_slope = "2";
  s.rescale_intercept = "-1000";
  s.window_center = "0";
  s.window_width = "400";
  write_dicom(dir / "r.dcm", s);
  const auto v = band_values(load_gray(dir / "r.dcm"));
  EXPECT_FLOAT_EQ(v[0], 0.0f);
  EXPECT_NEAR(v[1], 0.5f, 5e-3);
  EXPECT_NEAR(v[2], 0.75f, 5e-3);
}

TEST(Dicom, AVoiLutIsPreferredToTheWindow) {
  TempDir dir;
  // A step LUT over the 12-bit values: below 2048 -> 0, from 2048 -> full scale; the window
  // would put 1000 and 3000 elsewhere (0.25, 0.75).
  DicomSpec s = banded(1000, 1000, 3000);
  s.voi_lut.resize(4096);
  for (std::size_t i = 0; i < s.voi_lut.size(); ++i) s.voi_lut[i] = i < 2048 ? 0 : 65535;
  s.window_center = "2000";
  s.window_width = "4000";
  write_dicom(dir / "lut.dcm", s);
  const auto v = band_values(load_gray(dir / "lut.dcm"));
  EXPECT_NEAR(v[0], 0.0f, 1e-4);
  EXPECT_NEAR(v[2], 1.0f, 1e-4);
}

TEST(Dicom, RleCompressedGivesTheSamePixelsAsUncompressed) {
  TempDir dir;
  DicomSpec s = banded(1000, 2000, 3000);
  for (std::size_t i = 0; i < s.pixels.size(); ++i) s.pixels[i] += static_cast<uint16_t>(i % 37);  // not flat
  write_dicom(dir / "plain.dcm", s);
  write_dicom(dir / "rle.dcm", s, EXS_RLELossless);
  const cv::Mat plain = load_gray(dir / "plain.dcm"), rle = load_gray(dir / "rle.dcm");
  EXPECT_EQ(cv::norm(plain, rle, cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(plain, cv::NORM_INF), 0.9);
}

TEST(Dicom, AnRgbImageBecomesItsLuminanceLikeAColourPng) {
  TempDir dir;
  DicomSpec s;
  s.samples = 3;
  s.photometric = "RGB";
  s.bits_allocated = 8;
  s.bits_stored = 8;
  for (int y = 0; y < s.rows; ++y)
    for (int x = 0; x < s.columns; ++x) {
      const int band = x < s.columns / 3 ? 0 : x < 2 * s.columns / 3 ? 1 : 2;  // pure red, green, blue
      for (int c = 0; c < 3; ++c) s.pixels.push_back(c == band ? 255 : 0);
    }
  write_dicom(dir / "rgb.dcm", s);
  const auto v = band_values(load_gray(dir / "rgb.dcm"));
  EXPECT_NEAR(v[0], 0.299f, 2e-3);
  EXPECT_NEAR(v[1], 0.587f, 2e-3);
  EXPECT_NEAR(v[2], 0.114f, 2e-3);
}

TEST(Dicom, JpegCompressedIsDecoded) {
  TempDir dir;
  cv::Mat image(64, 64, CV_8UC1);
  for (int x = 0; x < 64; ++x) image.col(x).setTo(x < 21 ? 10 : x < 42 ? 130 : 250);
  write_encapsulated(dir / "jpeg.dcm", eight_bit_header(), jpeg_of(image, false), EXS_JPEGProcess1);
  const auto v = band_values(load_gray(dir / "jpeg.dcm"));  // lossy, then min to max
  EXPECT_NEAR(v[0], 0.0f, 0.02);
  EXPECT_NEAR(v[1], 0.5f, 0.02);
  EXPECT_NEAR(v[2], 1.0f, 0.02);
}

TEST(Dicom, AJpegFrameLargerThanTheHeaderIsRefusedBeforeDecoding) {
  // A 64x64 DICOM holding a progressive JPEG whose frame header claims 60000x60000: DCMTK's
  // decoder allocated for the JPEG's size (149 s, 7 GB) before this check.
  TempDir dir;
  const cv::Mat image(64, 64, CV_8UC1, cv::Scalar(100));
  write_encapsulated(dir / "forged.dcm", eight_bit_header(), jpeg_of(image, true, 60000), EXS_JPEGProcess2_4);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of([&] { load_gray(dir / "forged.dcm"); });
  EXPECT_TRUE(contains(e, "forged.dcm") && contains(e, "60000x60000") && contains(e, "refused before decoding")) << e;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
  // A fragment that is no JPEG at all.
  write_encapsulated(dir / "junk.dcm", eight_bit_header(), std::vector<uint8_t>(64, 0x11), EXS_JPEGProcess1);
  EXPECT_TRUE(contains(error_of([&] { load_gray(dir / "junk.dcm"); }), "no JPEG frame header"));
}

TEST(Dicom, ImplausibleSamplesOrBitsAreRefusedBeforeDecoding) {
  // Found by flipping bytes: Samples per Pixel 30211 on a 224x224 JPEG frame made DCMTK
  // allocate 1.5 GB and decode for a minute.
  TempDir dir;
  DicomSpec many = eight_bit_header();
  many.samples = 30211;
  const cv::Mat image(64, 64, CV_8UC1, cv::Scalar(100));
  write_encapsulated(dir / "samples.dcm", many, jpeg_of(image, false), EXS_JPEGProcess1);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of([&] { load_gray(dir / "samples.dcm"); });
  EXPECT_TRUE(contains(e, "samples.dcm") && contains(e, "30211 Samples per Pixel")) << e;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
  DicomSpec wide = banded(1, 2, 3);
  wide.bits_allocated = 32;
  wide.pixels.resize(wide.pixels.size() * 2);  // as many bytes as 32 bits need
  write_dicom(dir / "bits.dcm", wide);
  EXPECT_TRUE(contains(error_of([&] { load_gray(dir / "bits.dcm"); }), "32 Bits Allocated"));
}

TEST(Dicom, MultiFrameIsRefusedNamingTheFileAndTheFrames) {
  TempDir dir;
  DicomSpec s;
  s.frames = "3";
  s.pixels.assign(static_cast<std::size_t>(s.rows) * s.columns * 3, 1000);
  write_dicom(dir / "cine.dcm", s);
  const std::string e = error_of([&] { load_gray(dir / "cine.dcm"); });
  EXPECT_TRUE(contains(e, "cine.dcm") && contains(e, "multi-frame") && contains(e, "3 frames")) << e;
}

TEST(Dicom, AHugeHeaderIsRefusedBeforeDecoding) {
  TempDir dir;
  DicomSpec s;  // 64x64 pixels behind a header claiming 20000x20000
  s.pixels.assign(64 * 64, 1000);
  DcmFileFormat file = make_file(s);
  file.getDataset()->putAndInsertUint16(DCM_Rows, 20000);
  file.getDataset()->putAndInsertUint16(DCM_Columns, 20000);
  ASSERT_TRUE(file.saveFile(OFFilename((dir / "bomb.dcm").c_str()), EXS_LittleEndianExplicit).good());
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of([&] { load_gray(dir / "bomb.dcm"); });
  EXPECT_TRUE(contains(e, "bomb.dcm") && contains(e, "20000x20000") && contains(e, "refused before decoding")) << e;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
}

TEST(Dicom, TruncatedFilesAreRefusedWhereverTheyEnd) {
  TempDir dir;
  write_dicom(dir / "whole.dcm", banded(1000, 2000, 3000));
  const auto size = fs::file_size(dir / "whole.dcm");
  for (const std::uintmax_t keep : {size - 1000, std::uintmax_t{400}, std::uintmax_t{140}}) {
    const fs::path cut = dir / ("cut" + std::to_string(keep) + ".dcm");
    fs::copy_file(dir / "whole.dcm", cut);
    fs::resize_file(cut, keep);
    const std::string e = error_of([&] { load_gray(cut); });
    EXPECT_TRUE(contains(e, cut.string() + ": ")) << keep << " bytes: " << e;
  }
  // Cut inside the pixel data, the reason says so.
  EXPECT_TRUE(contains(error_of([&] { load_gray(dir / ("cut" + std::to_string(size - 1000) + ".dcm")); }),
                       "truncated"));
}

TEST(Dicom, ShortPixelDataIsRefusedNotPaddedWithZeros) {
  TempDir dir;
  DicomSpec s;
  s.pixels.assign(64 * 32, 1000);  // half the rows the header declares
  write_dicom(dir / "short.dcm", s);
  const std::string e = error_of([&] { load_gray(dir / "short.dcm"); });
  EXPECT_TRUE(contains(e, "4096 bytes") && contains(e, "need 8192")) << e;
}

TEST(Dicom, AFileWithoutPixelDataIsRefused) {
  TempDir dir;
  DicomSpec s;
  s.pixel_data = false;
  write_dicom(dir / "report.dcm", s);
  const std::string e = error_of([&] { load_gray(dir / "report.dcm"); });
  EXPECT_TRUE(contains(e, "report.dcm") && contains(e, "without pixel data")) << e;
}

TEST(Dicom, ACompressionWithoutADecoderIsRefusedNamingIt) {
  TempDir dir;
  // A JPEG 2000 fragment of junk: the syntax is refused before any fragment is read.
  write_encapsulated(dir / "j2k.dcm", DicomSpec{}, std::vector<uint8_t>(256, 0xAB), EXS_JPEG2000LosslessOnly);
  const std::string e = error_of([&] { load_gray(dir / "j2k.dcm"); });
  EXPECT_TRUE(contains(e, "j2k.dcm") && contains(e, "JPEG 2000") && contains(e, "1.2.840.10008.1.2.4.90")) << e;
}

TEST(Dicom, ImagesBelowTheMinimumSideAreRefused) {
  TempDir dir;
  DicomSpec s;
  s.rows = s.columns = 16;
  s.pixels = bands(16, 16, 0, 100, 200);
  write_dicom(dir / "tiny.dcm", s);
  EXPECT_TRUE(contains(error_of([&] { load_gray(dir / "tiny.dcm"); }), "16x16 pixels is too small"));
}

TEST(Dicom, DetectedByContentAndByExtension) {
  TempDir dir;
  const DicomSpec s = banded(1000, 2000, 3000);
  // The signature under another extension, in upper case, and under none.
  write_dicom(dir / "film.png", s);
  write_dicom(dir / "FILM.DICOM", s);
  write_dicom(dir / "film", s);
  for (const char* name : {"film.png", "FILM.DICOM", "film"})
    EXPECT_NEAR(band_values(load_gray(dir / name))[2], 1.0f, 1e-4) << name;
  // A data set saved without preamble and meta header: DICOM by its .dcm name only.
  DcmFileFormat bare = make_file(s);
  ASSERT_TRUE(bare.getDataset()->saveFile(OFFilename((dir / "bare.dcm").c_str()), EXS_LittleEndianImplicit).good());
  EXPECT_NEAR(band_values(load_gray(dir / "bare.dcm"))[1], 0.5f, 1e-3);
  // ... and the same bytes under another name are not an image.
  fs::copy_file(dir / "bare.dcm", dir / "bare.bin");
  EXPECT_TRUE(contains(error_of([&] { load_gray(dir / "bare.bin"); }), "not an image"));
  // A PNG named .dcm is read as the PNG it is.
  ASSERT_TRUE(cv::imwrite((dir / "png.png").string(), cv::Mat(40, 40, CV_8UC1, cv::Scalar(51))));
  fs::copy_file(dir / "png.png", dir / "png.dcm");
  EXPECT_NEAR(load_gray(dir / "png.dcm").at<float>(3, 3), 0.2f, 1e-6);
  // Neither: named .dcm, holding text.
  std::ofstream(dir / "notes.dcm") << "not a DICOM file at all, just some text that is long enough\n";
  EXPECT_TRUE(contains(error_of([&] { load_gray(dir / "notes.dcm"); }), "notes.dcm: "));
}

TEST(Dicom, FolderInputsListDicomFiles) {
  TempDir dir;
  const DicomSpec s = banded(1000, 2000, 3000);
  write_dicom(dir / "a.dcm", s);
  fs::create_directories(dir / "sub");
  write_dicom(dir / "sub" / "b.DICOM", s);
  ASSERT_TRUE(cv::imwrite((dir / "c.png").string(), cv::Mat(40, 40, CV_8UC1, cv::Scalar(51))));
  std::ofstream(dir / "notes.txt") << "not an image\n";
  const auto inputs = collect_inputs({dir.path().string()});
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].image.filename(), "a.dcm");
  EXPECT_EQ(inputs[2].image.filename(), "b.DICOM");  // sub/ sorts after c.png
  for (const auto& in : inputs) EXPECT_EQ(load_gray(in.image).rows, in.image.extension() == ".png" ? 40 : 64);
  // A folder with none names the extensions it looked for, DICOM's among them.
  fs::create_directories(dir / "empty");
  EXPECT_TRUE(contains(error_of([&] { collect_inputs({(dir / "empty").string()}); }), ".dcm .dicom"));
}

TEST(Dicom, AMaskOrAtlasGivenAsDicomIsRefusedClearly) {
  TempDir dir;
  write_dicom(dir / "lungs.dcm", banded(0, 1, 1));
  fs::copy_file(dir / "lungs.dcm", dir / "lungs.png");
  for (const char* name : {"lungs.dcm", "lungs.png"}) {
    const std::string e = error_of([&] { read_mask_file(dir / name, std::nullopt, nullptr); });
    EXPECT_TRUE(contains(e, "lung mask file") && contains(e, name) && contains(e, "DICOM") &&
                contains(e, "masks and atlases must be PNG"))
        << e;
  }
}

TEST(Dicom, ParallelLoadsGiveWhatASerialLoadGives) {
  // ensemble-classify loads a batch's images in parallel (classify_run.cpp): DCMTK's
  // decoders and dictionary are shared by the threads.
  TempDir dir;
  DicomSpec s = banded(1000, 2000, 3000);
  for (std::size_t i = 0; i < s.pixels.size(); ++i) s.pixels[i] += static_cast<uint16_t>(i % 53);
  write_dicom(dir / "plain.dcm", s);
  write_dicom(dir / "rle.dcm", s, EXS_RLELossless);
  const cv::Mat reference = load_gray(dir / "plain.dcm");
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) {
        try {
          const cv::Mat g = load_gray(dir / (k % 2 ? "rle.dcm" : "plain.dcm"));
          if (cv::norm(g, reference, cv::NORM_INF) != 0.0) ++mismatches[t];
        } catch (const std::exception&) {
          ++mismatches[t];  // an exception must not escape a thread (std::terminate)
        }
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(Dicom, ATreeDataSetListsDicomFiles) {
  // ensemble-train --data DIR: a folder per class.
  TempDir dir;
  fs::create_directories(dir / "NORMAL");
  fs::create_directories(dir / "PNEUMONIA");
  write_dicom(dir / "NORMAL" / "IM-0001-0001.dcm", banded(1000, 2000, 3000));
  write_dicom(dir / "PNEUMONIA" / "person1_bacteria_1.dicom", banded(1000, 2000, 3000));
  std::ofstream(dir / "NORMAL" / "notes.txt") << "not an image\n";
  const auto reader = open_dataset(dir.path())->reader();
  std::vector<std::string> names;
  for (Sample sample; reader->next(sample);) names.push_back(sample.image.filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"IM-0001-0001.dcm", "person1_bacteria_1.dicom"}));
}
