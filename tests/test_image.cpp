// Image loading: every format x depth x channel count comes back as float gray in [0,1]
// with the values written; broken files are ImageErrors naming the file. Torch-free
// (gradgate_core_tests); preprocess (gray -> tensor) is test_preprocess.cpp.
#include <gtest/gtest.h>

#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/image.h"
#include "test_util.h"

using namespace gradgate;
using gradgate::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// 32 x 48 image: three 16-column bands of black, `mid` and white, as (v, v, v[, opaque]).
// Lossless formats also get a pure blue 8x8 block at rows 24..31, columns 0..7 to check
// that channel order is BGR(A).
cv::Mat make_image(int depth, int channels, double mid, bool blue_block) {
  const double max = depth == CV_16U ? 65535.0 : 255.0;
  cv::Mat m(32, 48, CV_MAKETYPE(depth, channels));
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) {
      const double v = x < 16 ? 0.0 : x < 32 ? mid : max;
      for (int c = 0; c < channels; ++c) {
        double value = (channels == 4 && c == 3) ? max : v;
        if (blue_block && channels >= 3 && y >= 24 && x < 8 && c < 3) value = c == 0 ? max : 0.0;
        if (depth == CV_16U) m.ptr<uint16_t>(y)[x * channels + c] = static_cast<uint16_t>(value);
        else m.ptr<uint8_t>(y)[x * channels + c] = static_cast<uint8_t>(value);
      }
    }
  return m;
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Runs load_gray and returns the ImageError message ("" when it loaded).
std::string load_error(const fs::path& p) {
  try {
    load_gray(p);
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

struct Case {
  std::string ext;
  int depth;
  int channels;
  bool lossless;
};

}  // namespace

TEST(Image, EveryFormatDepthAndChannelCount) {
  TempDir dir;
  std::vector<Case> cases;
  for (int ch : {1, 3, 4}) {
    cases.push_back({".png", CV_8U, ch, true});
    cases.push_back({".png", CV_16U, ch, true});
    cases.push_back({".jpg", CV_8U, ch, false});
    cases.push_back({".bmp", CV_8U, ch, true});
    cases.push_back({".tif", CV_8U, ch, true});
    cases.push_back({".tif", CV_16U, ch, true});
  }
  for (const Case& c : cases) {
    const std::string label = c.ext + (c.depth == CV_16U ? " 16-bit " : " 8-bit ") +
                              std::to_string(c.channels) + "ch";
    SCOPED_TRACE(label);
    const bool sixteen = c.depth == CV_16U;
    // 16-bit mid value 0x1234 is not a multiple of 257, so an 8-bit round trip would show.
    const double mid = sixteen ? 4660.0 : 128.0;
    const double expect_mid = sixteen ? 4660.0 / 65535.0 : 128.0 / 255.0;
    const fs::path file = dir / ("img_" + std::to_string(c.depth) + "_" + std::to_string(c.channels) + c.ext);
    ASSERT_TRUE(cv::imwrite(file.string(), make_image(c.depth, c.channels, mid, c.lossless)));

    const cv::Mat g = load_gray(file);
    ASSERT_EQ(g.type(), CV_32FC1);
    EXPECT_EQ(g.rows, 32);
    EXPECT_EQ(g.cols, 48);
    double lo = 0, hi = 0;
    cv::minMaxLoc(g, &lo, &hi);
    EXPECT_GE(lo, 0.0);
    EXPECT_LE(hi, 1.0);
    const double tol = c.lossless ? 1e-5 : 3.0 / 255.0;
    EXPECT_NEAR(g.at<float>(8, 4), 0.0, tol);
    EXPECT_NEAR(g.at<float>(8, 24), expect_mid, tol);
    EXPECT_NEAR(g.at<float>(8, 40), 1.0, tol);
    if (c.lossless && c.channels >= 3) EXPECT_NEAR(g.at<float>(28, 4), 0.114, 1e-3) << "blue block";
  }
}

// OpenCV writes 4-channel BMPs as 24-bit, so build a 32-bit BGRA one by hand:
// 2 x 2 pixels, bottom-up rows: (white, blue) above (black, gray 128), alpha 255.
TEST(Image, ThirtyTwoBitBmp) {
  TempDir dir;
  std::vector<uint8_t> bmp = {'B', 'M', 70, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0,  // file header
                              40, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 32, 0,  // 2x2, 32 bpp
                              0, 0, 0, 0, 16, 0, 0, 0, 0x13, 0x0B, 0, 0, 0x13, 0x0B, 0, 0,
                              0, 0, 0, 0, 0, 0, 0, 0};
  const uint8_t pixels[16] = {0, 0, 0, 255, 128, 128, 128, 255,     // bottom row
                              255, 255, 255, 255, 255, 0, 0, 255};  // top row
  bmp.insert(bmp.end(), pixels, pixels + 16);
  write_bytes(dir / "bgra.bmp", bmp);
  // The decoding path of load_gray (which refuses images below kMinImageSide a side).
  const cv::Mat g = to_gray_float(decode_image_file(dir / "bgra.bmp", "bgra.bmp"), "bgra.bmp");
  ASSERT_EQ(g.size(), cv::Size(2, 2));
  EXPECT_NEAR(g.at<float>(0, 0), 1.0, 1e-5);
  EXPECT_NEAR(g.at<float>(0, 1), 0.114, 1e-3);
  EXPECT_NEAR(g.at<float>(1, 0), 0.0, 1e-5);
  EXPECT_NEAR(g.at<float>(1, 1), 128.0 / 255.0, 1e-5);
}

TEST(Image, SixteenBitFullScaleIsOne) {
  cv::Mat m(4, 4, CV_16UC1, cv::Scalar(65535));
  const cv::Mat g = to_gray_float(m, "test");
  EXPECT_FLOAT_EQ(g.at<float>(0, 0), 1.0f);
  cv::Mat e(4, 4, CV_8UC1, cv::Scalar(128));
  EXPECT_FLOAT_EQ(to_gray_float(e, "test").at<float>(2, 2), 128.0f / 255.0f);
  cv::Mat f(2, 2, CV_32FC1, cv::Scalar(1.7));
  EXPECT_FLOAT_EQ(to_gray_float(f, "test").at<float>(0, 0), 1.0f);  // clipped
  cv::Mat s(2, 2, CV_16SC1, cv::Scalar(3));
  EXPECT_THROW(to_gray_float(s, "test"), ImageError);
}

TEST(Image, MissingFileNamesIt) {
  TempDir dir;
  const std::string msg = load_error(dir / "nope.png");
  EXPECT_CONTAINS(msg, "nope.png");
  EXPECT_CONTAINS(msg, "not found");
}

TEST(Image, EmptyFileNamesIt) {
  TempDir dir;
  write_bytes(dir / "empty.png", {});
  const std::string msg = load_error(dir / "empty.png");
  EXPECT_CONTAINS(msg, "empty.png");
  EXPECT_CONTAINS(msg, "empty");
}

TEST(Image, TextFileIsNotAnImage) {
  TempDir dir;
  std::ofstream(dir / "notes.jpg") << "these are not pixels\n";
  const std::string msg = load_error(dir / "notes.jpg");
  EXPECT_CONTAINS(msg, "notes.jpg");
  EXPECT_CONTAINS(msg, "not an image");
}

TEST(Image, TruncatedPngIsAnError) {
  TempDir dir;
  ASSERT_TRUE(cv::imwrite((dir / "full.png").string(), make_image(CV_8U, 1, 128, false)));
  auto bytes = read_bytes(dir / "full.png");
  // Cut anywhere after the header: inside IDAT, and just before IEND.
  for (std::size_t keep : {bytes.size() / 2, bytes.size() - 12, bytes.size() - 1}) {
    SCOPED_TRACE(keep);
    write_bytes(dir / "cut.png", std::vector<uint8_t>(bytes.begin(), bytes.begin() + keep));
    const std::string msg = load_error(dir / "cut.png");
    EXPECT_CONTAINS(msg, "cut.png");
    EXPECT_CONTAINS(msg, "truncated PNG");
  }
}

TEST(Image, TruncatedJpegIsAnError) {
  TempDir dir;
  cv::Mat noise(64, 64, CV_8UC1);
  cv::randu(noise, 0, 255);  // enough entropy-coded data to cut inside
  ASSERT_TRUE(cv::imwrite((dir / "full.jpg").string(), noise));
  auto bytes = read_bytes(dir / "full.jpg");
  for (std::size_t keep : {bytes.size() * 3 / 5, bytes.size() - 2, std::size_t(100)}) {
    SCOPED_TRACE(keep);
    write_bytes(dir / "cut.jpg", std::vector<uint8_t>(bytes.begin(), bytes.begin() + keep));
    const std::string msg = load_error(dir / "cut.jpg");
    EXPECT_CONTAINS(msg, "cut.jpg");
    EXPECT_CONTAINS(msg, "truncated JPEG");
  }
  // The intact file still loads.
  EXPECT_EQ(load_gray(dir / "full.jpg").rows, 64);
}

TEST(Image, TruncatedTiffAndBmpAreErrors) {
  TempDir dir;
  cv::Mat noise(64, 64, CV_16UC1);
  cv::randu(noise, 0, 65535);
  ASSERT_TRUE(cv::imwrite((dir / "full.tif").string(), noise));
  cv::Mat noise8(64, 64, CV_8UC3);
  cv::randu(noise8, 0, 255);
  ASSERT_TRUE(cv::imwrite((dir / "full.bmp").string(), noise8));
  for (const std::string ext : {".tif", ".bmp"}) {
    SCOPED_TRACE(ext);
    const auto bytes = read_bytes(dir / ("full" + ext));
    write_bytes(dir / ("cut" + ext), std::vector<uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2));
    const std::string msg = load_error(dir / ("cut" + ext));
    EXPECT_CONTAINS(msg, "cut" + ext);
    EXPECT_CONTAINS(msg, ext == ".tif" ? "TIFF" : "truncated BMP");
  }
}

TEST(Image, CorruptPngDataIsAnError) {
  TempDir dir;
  cv::Mat noise(64, 64, CV_8UC1);
  cv::randu(noise, 0, 255);
  ASSERT_TRUE(cv::imwrite((dir / "ok.png").string(), noise));
  auto bytes = read_bytes(dir / "ok.png");
  // Scramble the compressed data (chunk layout intact, so only the decoder can tell).
  for (std::size_t i = 60; i < bytes.size() - 40; i += 7) bytes[i] ^= 0x5A;
  write_bytes(dir / "corrupt.png", bytes);
  const std::string msg = load_error(dir / "corrupt.png");
  EXPECT_CONTAINS(msg, "corrupt.png");
  EXPECT_CONTAINS(msg, "corrupt PNG");
}

TEST(Image, CorruptJpegHeaderIsAnError) {
  TempDir dir;
  write_bytes(dir / "bad.jpg", {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0,
                                0, 1, 0, 1, 0, 0, 0x12, 0x34, 0x56});
  const std::string msg = load_error(dir / "bad.jpg");
  EXPECT_CONTAINS(msg, "bad.jpg");
  EXPECT_CONTAINS(msg, "JPEG");
}

TEST(Image, AbsurdSizeIsRefusedBeforeDecoding) {
  TempDir dir;
  // A PNG whose header claims 20000 x 20000 pixels and has no pixel data at all.
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A,
                              0, 0, 0, 13, 'I', 'H', 'D', 'R',
                              0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20, 8, 0, 0, 0, 0,
                              0, 0, 0, 0,  // CRC (not checked before the size)
                              0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  write_bytes(dir / "huge.png", png);
  const std::string msg = load_error(dir / "huge.png");
  EXPECT_CONTAINS(msg, "huge.png");
  EXPECT_CONTAINS(msg, "20000x20000");
  EXPECT_CONTAINS(msg, "too large");
}
