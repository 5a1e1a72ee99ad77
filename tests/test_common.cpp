// The torch-free common layer (include/gradgate/common/): atomic writes, FNV-1a 64,
// join/split_list, UTC-now, and the YAML reader; and the mask rows read through the
// dataset CSV reader.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "gradgate/common/atomic_file.h"
#include "gradgate/common/fnv1a.h"
#include "gradgate/common/png.h"
#include "gradgate/common/strings.h"
#include "gradgate/common/utc_time.h"
#include "gradgate/common/yaml_value.h"
#include "gradgate/error.h"
#include "gradgate/lung_atlas.h"
#include "gradgate/lung_mask_rows.h"
#include "gradgate/phantom.h"
#include "gradgate/store/models_manifest.h"
#include "test_util.h"

using namespace gradgate;
using gradgate::testing::slurp;
using gradgate::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// Every entry of `dir` by file name.
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST(CommonAtomic, WritesBytesAndCreatesParents) {
  TempDir tmp;
  const fs::path target = tmp / "a" / "b" / "x.bin";
  const std::string bytes("one\0two\n", 8);
  write_file_atomic(target, bytes);
  EXPECT_EQ(slurp(target), bytes);
  write_file_atomic(target, "second");
  EXPECT_EQ(slurp(target), "second");
  EXPECT_EQ(names_in(target.parent_path()), std::vector<std::string>{"x.bin"});
}

TEST(CommonAtomic, WriterThatThrowsLeavesTargetAndNoTempFile) {
  TempDir tmp;
  const fs::path target = tmp / "keep.txt";
  write_file_atomic(target, "old contents");
  fs::path seen_tmp;
  EXPECT_THROW(write_file_atomic_with(target,
                                      [&](const fs::path& t) {
                                        seen_tmp = t;
                                        std::ofstream(t) << "half a new file";
                                        throw std::runtime_error("writer failed");
                                      }),
               std::runtime_error);
  EXPECT_FALSE(seen_tmp.empty());
  EXPECT_EQ(seen_tmp.parent_path(), target.parent_path()) << "the temp file must be beside the target";
  EXPECT_FALSE(fs::exists(seen_tmp));
  EXPECT_EQ(slurp(target), "old contents");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"keep.txt"});

  // The stream form: the same when the writer throws mid-way.
  EXPECT_THROW(write_stream_atomic(target,
                                   [](std::ostream& out) {
                                     out << "partial";
                                     throw Error("stop");
                                   }),
               Error);
  EXPECT_EQ(slurp(target), "old contents");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"keep.txt"});

  // A writer that throws when there is no target yet leaves nothing.
  EXPECT_THROW(write_file_atomic_with(tmp / "new.txt", [](const fs::path&) { throw std::runtime_error("x"); }),
               std::runtime_error);
  EXPECT_FALSE(fs::exists(tmp / "new.txt"));
}

TEST(CommonAtomic, StreamAndCallbackFormsReplaceTarget) {
  TempDir tmp;
  const fs::path target = tmp / "m.csv";
  write_stream_atomic(target, [](std::ostream& out) { out << "a,b\n1,2\n"; });
  EXPECT_EQ(slurp(target), "a,b\n1,2\n");
  write_file_atomic_with(target, [](const fs::path& t) { std::ofstream(t, std::ios::binary) << "via name"; });
  EXPECT_EQ(slurp(target), "via name");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"m.csv"});
  // A writer that creates nothing is an error, not a silent empty target.
  EXPECT_THROW(write_file_atomic_with(target, [](const fs::path&) {}), Error);
  EXPECT_EQ(slurp(target), "via name");
}

TEST(CommonAtomic, FailureNamesThePath) {
  TempDir tmp;
  std::ofstream(tmp / "blocker") << "a file where a folder should be";
  try {
    write_file_atomic(tmp / "blocker" / "x.txt", "data");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocker"), std::string::npos) << e.what();
  }
}

// Images go through encode_png + write_file_atomic: the file is a PNG whatever its name, a
// failed encode names the file and leaves the old one, no temp file stays behind.
TEST(CommonPng, WritesPngAtomicallyAndKeepsOldFileOnFailure) {
  TempDir tmp;
  const fs::path target = tmp / "sub" / "atlas.png";
  cv::Mat img(12, 10, CV_8UC1, cv::Scalar(7));
  img.at<uchar>(3, 4) = 200;
  write_png_file(target, img);
  const std::string first = slurp(target);
  ASSERT_GT(first.size(), 8u);
  EXPECT_EQ(first.substr(1, 3), "PNG");
  EXPECT_EQ(first, encode_png(img, target));
  try {
    write_png_file(target, cv::Mat());
    ADD_FAILURE() << "no error for an empty image";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("atlas.png"), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(target), first);
  EXPECT_EQ(names_in(target.parent_path()), std::vector<std::string>{"atlas.png"});
}

TEST(CommonPng, AtlasAndPhantomsLeaveNoTempFiles) {
  TempDir tmp;
  cv::Mat p(16, 16, CV_32FC1, cv::Scalar(0.25f));
  LungAtlas(p).save(tmp / "atlas" / "lung_atlas.png");
  EXPECT_EQ(names_in(tmp / "atlas"), std::vector<std::string>{"lung_atlas.png"});
  const LungAtlas back = LungAtlas::load(tmp / "atlas" / "lung_atlas.png");
  EXPECT_NEAR(back.probability().at<float>(5, 5), 64.0f / 255.0f, 1e-6);

  write_phantom_dataset(tmp / "ph", 1, 64, 3);
  EXPECT_EQ(names_in(tmp / "ph"), (std::vector<std::string>{"images", "manifest.csv", "masks"}));
  EXPECT_EQ(names_in(tmp / "ph" / "images"),
            (std::vector<std::string>{"bacterial-0.png", "covid-0.png", "normal-0.png", "viral-0.png"}));
  EXPECT_EQ(names_in(tmp / "ph" / "masks").size(), 4u);
  EXPECT_FALSE(cv::imread((tmp / "ph" / "masks" / "covid-0.png").string(), cv::IMREAD_GRAYSCALE).empty());
}

TEST(CommonFnv1a, KnownVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
  // Continuing a hash is hashing the concatenation.
  EXPECT_EQ(fnv1a64("bar", fnv1a64("foo")), fnv1a64("foobar"));
  static_assert(fnv1a64("") == kFnv1a64Offset, "constexpr");
  EXPECT_EQ(fnv1a64_hex(0xcbf29ce484222325ULL), "cbf29ce484222325");
  EXPECT_EQ(fnv1a64_hex(0x1fULL), "000000000000001f");
  EXPECT_EQ(fnv1a64_label(fnv1a64("a")), "fnv1a64:af63dc4c8601ec8c");
}

TEST(CommonFnv1a, FileHashEqualsBytesHash) {
  TempDir tmp;
  std::string big(200000, '\0');  // more than one read buffer
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + 3);
  write_file_atomic(tmp / "big.bin", big);
  EXPECT_EQ(fnv1a64_file(tmp / "big.bin"), fnv1a64(big));
  write_file_atomic(tmp / "empty.bin", "");
  EXPECT_EQ(fnv1a64_file(tmp / "empty.bin"), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64_file(tmp / "big.bin", kGradgateFnvBasis), fnv1a64(big, kGradgateFnvBasis));
  EXPECT_EQ(weights_file_hash(tmp / "big.bin"), "fnv1a64:" + fnv1a64_hex(fnv1a64(big, kGradgateFnvBasis)));
  EXPECT_THROW(fnv1a64_file(tmp / "missing.bin"), Error);
}

// gradgate's recorded hashes start from its own basis (see fnv1a.h); these values pin it,
// so the committed manifests' hashes, data splits and member seeds stay what they were.
TEST(CommonFnv1a, GradgateBasisKeepsRecordedHashes) {
  EXPECT_EQ(kGradgateFnvBasis, 1469598103934665603ULL);
  EXPECT_NE(kGradgateFnvBasis, kFnv1a64Offset);
  EXPECT_EQ(fnv1a64("a", kGradgateFnvBasis), 0x44bd8ad473cd9906ULL);
  EXPECT_EQ(fnv1a64("resnet18", kGradgateFnvBasis), 0xf8fdfe6bbfc45267ULL);
  TempDir tmp;
  write_file_atomic(tmp / "w.pt", "a");
  EXPECT_EQ(weights_file_hash(tmp / "w.pt"), "fnv1a64:44bd8ad473cd9906");
}

TEST(CommonStrings, Join) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"a"}, ", "), "a");
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(join({"", ""}, ";"), ";");
  EXPECT_EQ(join({"a", "b"}, ""), "ab");
}

TEST(CommonStrings, SplitList) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_list(""), V{});
  EXPECT_EQ(split_list(","), V{});
  EXPECT_EQ(split_list("a"), V{"a"});
  EXPECT_EQ(split_list("a,b"), (V{"a", "b"}));
  EXPECT_EQ(split_list(",a,,b,"), (V{"a", "b"}));
  EXPECT_EQ(split_list(" a , b"), (V{" a ", " b"})) << "no trimming";
  EXPECT_EQ(split_list(join({"x", "y", "z"}, ",")), (V{"x", "y", "z"}));
}

TEST(CommonTime, IsoUtcNowFormat) {
  const std::string now = iso_utc_now();
  EXPECT_TRUE(std::regex_match(now, std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$)"))) << now;
  EXPECT_GE(now.substr(0, 4), std::string("2024"));
}

TEST(CommonYaml, ErrorsNameFileLineAndKey) {
  TempDir tmp;
  std::ofstream(tmp / "c.yaml") << "a:\n  b: [1, x]\n  n: 3\n";
  const YamlValue root = YamlValue::load(tmp / "c.yaml");
  const auto items = root.at("a", "a mapping").at("b", "a list").items("a list");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].as<int>("an integer"), 1);
  try {
    items[1].as<int>("an integer");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("c.yaml:2:"), std::string::npos) << what;
    EXPECT_NE(what.find("key 'a.b[1]': expected an integer, got 'x'"), std::string::npos) << what;
  }
  try {
    root.at("a", "a mapping").expect_keys({"b"});
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("key 'a.n': unknown key"), std::string::npos) << e.what();
  }
}

TEST(CommonMaskRows, ReadThroughTheDatasetCsvReader) {
  TempDir tmp;
  std::ofstream(tmp / "manifest.csv")
      << "image,mask,source,split\r\n\"images/a,1.png\",masks/a.png,s1,train\r\n\r\nimages/b.png,,s2,val\r\n";
  const auto rows = read_mask_rows(tmp.path());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].image, tmp / "images/a,1.png");
  EXPECT_EQ(rows[0].mask, tmp / "masks/a.png");
  EXPECT_EQ(rows[1].mask, fs::path());
  EXPECT_EQ(rows[1].split, "val");
  EXPECT_EQ(rows_with_masks(rows, "").size(), 1u);

  std::ofstream(tmp / "manifest.csv") << "image,mask,source,split\na.png,m.png,s,train\nb.png,m.png,s\n";
  try {
    read_mask_rows(tmp.path());
    ADD_FAILURE() << "no error";
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("manifest.csv:3: 3 fields, header has 4"), std::string::npos) << e.what();
  }
  std::ofstream(tmp / "manifest.csv") << "image,source,split\na.png,s,train\n";
  try {
    read_mask_rows(tmp.path());
    ADD_FAILURE() << "no error";
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("header has no 'mask' column"), std::string::npos) << e.what();
  }
  std::ofstream(tmp / "manifest.csv") << "image,mask,source,split\n\"a.png,m.png,s,train\n";
  try {
    read_mask_rows(tmp.path());
    ADD_FAILURE() << "no error";
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("manifest.csv:2: unterminated quoted field"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_mask_rows(tmp / "nowhere"), DatasetError);
}
