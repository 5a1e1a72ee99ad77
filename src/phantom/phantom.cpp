#include "gradgate/phantom.h"

#include <random>

#include <opencv2/imgproc.hpp>

#include "gradgate/common/atomic_file.h"
#include "gradgate/common/png.h"
#include "gradgate/error.h"

namespace gradgate {

namespace {

// Opacity pattern per diagnosis: bacterial = one dense lobar patch, viral = diffuse
// bilateral haze with streaks, covid = peripheral lower-zone ground glass on both sides.
void draw_opacities(cv::Mat& img, const cv::Mat& lungs, const std::string& dx, std::mt19937_64& rng) {
  if (dx == "normal") return;
  const int s = img.cols;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  cv::Mat layer = cv::Mat::zeros(img.size(), CV_32F);
  if (dx == "bacterial") {
    const bool left = u(rng) < 0.5;
    const cv::Point c(static_cast<int>(s * (left ? 0.33 : 0.67) + s * 0.05 * (u(rng) - 0.5)),
                      static_cast<int>(s * (0.45 + 0.2 * u(rng))));
    cv::ellipse(layer, c, cv::Size(int(s * 0.09), int(s * 0.12)), u(rng) * 180, 0, 360, 0.55, -1);
  } else if (dx == "viral") {
    for (int i = 0; i < 14; ++i) {
      const cv::Point a(int(s * (0.22 + 0.56 * u(rng))), int(s * (0.3 + 0.4 * u(rng))));
      const cv::Point b(a.x + int(s * 0.08 * (u(rng) - 0.5)), a.y + int(s * 0.1 * u(rng)));
      cv::line(layer, a, b, 0.35, std::max(1, s / 90));
    }
    layer += 0.12;
  } else {  // covid
    for (int side = 0; side < 2; ++side) {
      const cv::Point c(int(s * (side ? 0.74 : 0.26)), int(s * (0.58 + 0.1 * u(rng))));
      cv::ellipse(layer, c, cv::Size(int(s * 0.06), int(s * 0.1)), 0, 0, 360, 0.35, -1);
    }
  }
  const int k = (s / 16) | 1;
  cv::GaussianBlur(layer, layer, cv::Size(k, k), 0);
  cv::Mat lung_f;
  lungs.convertTo(lung_f, CV_32F, 1.0 / 255.0);
  cv::Mat opacity = layer.mul(lung_f);
  img += opacity;
}

}  // namespace

Phantom make_phantom(const PhantomOptions& o) {
  if (o.side < 32) throw Error("phantom side must be >= 32, got " + std::to_string(o.side));
  if (o.diagnosis != "normal" && o.diagnosis != "bacterial" && o.diagnosis != "viral" &&
      o.diagnosis != "covid")
    throw Error("phantom diagnosis must be normal|bacterial|viral|covid, got '" + o.diagnosis + "'");
  std::mt19937_64 rng(o.seed * 0x9E3779B97F4A7C15ULL + 17);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const int s = o.side;
  cv::Mat img(s, s, CV_32F, cv::Scalar(0.04));
  // Body (soft tissue) with a little pose jitter.
  const double jx = (u(rng) - 0.5) * 0.06 * s, jy = (u(rng) - 0.5) * 0.06 * s;
  const cv::Point centre(int(s * 0.5 + jx), int(s * 0.55 + jy));
  cv::ellipse(img, centre, cv::Size(int(s * 0.42), int(s * 0.5)), 0, 0, 360, 0.55, -1);
  // Lungs: dark fields either side of the mediastinum.
  cv::Mat lungs = cv::Mat::zeros(s, s, CV_8U);
  for (int side = 0; side < 2; ++side) {
    const double sx = side ? 1.0 : -1.0;
    const cv::Point c(int(centre.x + sx * s * 0.17), int(centre.y - s * 0.05));
    cv::ellipse(lungs, c, cv::Size(int(s * (0.12 + 0.02 * u(rng))), int(s * (0.26 + 0.03 * u(rng)))),
                sx * 8, 0, 360, 255, -1);
  }
  img.setTo(0.22, lungs);
  // Ribs: faint arcs across the lungs; spine: a bright band.
  for (int r = 0; r < 7; ++r) {
    const int y = int(centre.y - s * 0.28 + r * s * 0.075);
    cv::ellipse(img, cv::Point(centre.x, y), cv::Size(int(s * 0.33), int(s * 0.08)), 0, 200, 340,
                0.36, std::max(1, s / 100));
  }
  cv::rectangle(img, cv::Rect(centre.x - s / 40, int(centre.y - s * 0.45), s / 20, int(s * 0.9)),
                0.7, -1);
  draw_opacities(img, lungs, o.diagnosis, rng);
  if (o.corner_marker) {
    const bool right = u(rng) < 0.5;
    cv::putText(img, "R", cv::Point(right ? s - s / 8 : s / 20, s / 8), cv::FONT_HERSHEY_SIMPLEX,
                s / 160.0, 1.0, std::max(1, s / 80));
  }
  // Film noise, then 8-bit.
  cv::Mat noise(s, s, CV_32F);
  cv::randn(noise, 0.0, 0.02);
  cv::theRNG().state = o.seed + 1;
  img += noise;
  const int k = (s / 64) | 1;
  cv::GaussianBlur(img, img, cv::Size(k, k), 0);
  Phantom p;
  img.convertTo(p.image, CV_8U, 255.0);
  p.lungs = lungs;
  return p;
}

std::filesystem::path write_phantom_dataset(const std::filesystem::path& dir, int per_class,
                                            int side, uint64_t seed) {
  namespace fs = std::filesystem;
  fs::create_directories(dir / "images");
  fs::create_directories(dir / "masks");
  const fs::path manifest = dir / "manifest.csv";
  write_stream_atomic(manifest, [&](std::ostream& out) {
    out << "image,mask,patient,source,finding,diagnosis,view,split,license,citation\n";
    const char* dxs[] = {"normal", "bacterial", "viral", "covid"};
    for (int d = 0; d < 4; ++d) {
      for (int i = 0; i < per_class; ++i) {
        const uint64_t s = seed * 1000003ULL + d * 100000ULL + i;
        Phantom p = make_phantom({side, dxs[d], false, s});
        const std::string stem = std::string(dxs[d]) + "-" + std::to_string(i);
        const std::string img_rel = "images/" + stem + ".png", mask_rel = "masks/" + stem + ".png";
        write_png_file(dir / img_rel, p.image);
        write_png_file(dir / mask_rel, p.lungs);
        // 70/15/15 by index pattern: deterministic and balanced per class.
        const int r = i % 20;
        const char* split = r < 14 ? "train" : (r < 17 ? "val" : "test");
        out << img_rel << ',' << mask_rel << ",phantom-" << stem << ",,synthetic," << dxs[d]
            << ",PA," << split << ",CC0,generated by gradgate\n";
      }
    }
  });
  return manifest;
}

}  // namespace gradgate
