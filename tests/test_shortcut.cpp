// The shortcut benchmark's data: markers never touch the lungs, and a seed fixes every file.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/phantom.h"
#include "gradgate/shortcut.h"
#include "test_util.h"

using namespace gradgate;
using gradgate::testing::slurp;
using gradgate::testing::TempDir;

namespace {

// Two elliptic lungs of random size and place: from small (a child's film) to filling most
// of the film (an adult's).
cv::Mat random_lungs(std::mt19937& rng, cv::Size size) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  cv::Mat m = cv::Mat::zeros(size, CV_8UC1);
  const double fill = 0.15 + 0.3 * u(rng);
  for (int side : {-1, 1}) {
    const cv::Point c(static_cast<int>(size.width * (0.5 + side * (0.15 + 0.1 * u(rng)))),
                      static_cast<int>(size.height * (0.45 + 0.1 * u(rng))));
    const cv::Size axes(static_cast<int>(size.width * fill * 0.6),
                        static_cast<int>(size.height * (fill + 0.1)));
    cv::ellipse(m, c, axes, 0, 0, 360, cv::Scalar(255), cv::FILLED);
  }
  return m;
}

}  // namespace

TEST(Shortcut, MarkersNeverTouchTheLungs) {
  std::mt19937 rng(7);
  int placed = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const cv::Size size(160 + 40 * (trial % 4), 224);
    const cv::Mat lungs = random_lungs(rng, size);
    for (MarkerKind kind : {MarkerKind::Square, MarkerKind::Letter, MarkerKind::Tag}) {
      const auto m = place_marker(lungs, kind, 1000 + trial);
      if (!m) continue;
      ++placed;
      cv::Mat gray(size, CV_32FC1, cv::Scalar(0.5));
      const cv::Mat before = gray.clone();
      const cv::Mat marker = draw_marker(gray, *m);
      cv::Mat hit;
      cv::bitwise_and(marker, lungs, hit);
      EXPECT_EQ(cv::countNonZero(hit), 0) << to_string(kind) << " trial " << trial;
      // Nothing outside the marker's box changed, and the marker is visible.
      cv::Mat changed = gray != before;
      cv::Mat outside;
      cv::bitwise_and(changed, ~marker, outside);
      EXPECT_EQ(cv::countNonZero(outside), 0) << to_string(kind);
      EXPECT_GT(cv::countNonZero(changed), m->box.area() / 20) << to_string(kind);
    }
  }
  EXPECT_GT(placed, 120);  // most films leave room
}

TEST(Shortcut, NoRoomMeansNoMarker) {
  const cv::Mat full(200, 200, CV_8UC1, cv::Scalar(255));
  EXPECT_FALSE(place_marker(full, MarkerKind::Square, 1).has_value());
  // Lungs everywhere but a 4-pixel border: a 20-pixel square cannot keep a 6-pixel margin.
  cv::Mat almost = cv::Mat::zeros(200, 200, CV_8UC1);
  almost(cv::Rect(4, 4, 192, 192)).setTo(255);
  EXPECT_FALSE(place_marker(almost, MarkerKind::Square, 1).has_value());
}

TEST(Shortcut, MarkerKindNames) {
  for (MarkerKind k : {MarkerKind::Square, MarkerKind::Letter, MarkerKind::Tag})
    EXPECT_EQ(marker_kind_from_string(to_string(k)), k);
  EXPECT_THROW(marker_kind_from_string("arrow"), ConfigError);
}

TEST(Shortcut, DatasetIsDeterministicAndFollowsTheRate) {
  TempDir dir;
  const auto manifest = write_phantom_dataset(dir / "src", 30, 160, 3);
  ShortcutOptions o;
  o.task = "pneumonia";
  o.rate = 0.9;
  o.config_dir = gradgate::testing::source_dir() / "config";
  const ShortcutSummary a = make_shortcut_dataset(manifest, dir / "a", o);
  const ShortcutSummary b = make_shortcut_dataset(manifest, dir / "b", o);
  EXPECT_EQ(a.marked_class, "pneumonia");
  EXPECT_GT(a.train, 40);
  EXPECT_GT(a.test, 0);
  for (const char* f : {"manifest.csv", "manifest-reversed.csv", "markers.csv"})
    EXPECT_EQ(slurp(dir / "a" / f), slurp(dir / "b" / f)) << f;
  // Same images, byte for byte (a marked one and the manifests decide the rest).
  std::ifstream list(dir / "a" / "markers.csv");
  std::string line;
  std::getline(list, line);
  int rows = 0, marked_pneumonia = 0, pneumonia = 0, marked_normal = 0, normal = 0;
  while (std::getline(list, line)) {
    ++rows;
    const auto image = line.substr(0, line.find(','));
    EXPECT_EQ(slurp(dir / "a" / image), slurp(dir / "b" / image)) << image;
    if (line.find(",train,train,") == std::string::npos) continue;
    const bool marked = line.find(",train,train,1,") != std::string::npos;
    if (line.size() >= 9 && line.substr(line.size() - 9) == "pneumonia")
      ++pneumonia, marked_pneumonia += marked;
    else
      ++normal, marked_normal += marked;
  }
  EXPECT_EQ(rows, a.train + a.val + 2 * a.test);
  // 90% of pneumonia training images and 10% of normal ones carry a marker (loose bounds:
  // a few dozen images).
  ASSERT_GT(pneumonia, 0);
  ASSERT_GT(normal, 0);
  EXPECT_GT(static_cast<double>(marked_pneumonia) / pneumonia, 0.7);
  EXPECT_LT(static_cast<double>(marked_normal) / normal, 0.35);
  // A second run into a finished folder is refused rather than mixed.
  EXPECT_THROW(make_shortcut_dataset(manifest, dir / "a", o), Error);
}
