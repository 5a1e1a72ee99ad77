// What a program linking gradgate does with it: read a task from the installed data, load a
// film, run one member with Grad-CAM, measure its map against a lung mask and gate it.
// Prints one line per fact; exits non-zero when a fact is wrong.
#include <cmath>
#include <cstdlib>
#include <iostream>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/config.h"
#include "gradgate/gate.h"
#include "gradgate/gradcam.h"
#include "gradgate/image.h"
#include "gradgate/member_card.h"
#include "gradgate/preprocess.h"
#include "gradgate/zoo/registry.h"

namespace {
int failures = 0;
void check(bool ok, const std::string& what) {
  std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
  if (!ok) ++failures;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer IMAGE\n";
    return 2;
  }
  using namespace gradgate;
  const auto opencv_log_level = cv::utils::logging::getLogLevel();
  const TaskConfig task = load_task("pneumonia");
  check(task.task.classes.size() == 2, "task pneumonia from " + task.file.string());

  const cv::Mat gray = load_gray(argv[1]);
  check(!gray.empty() && gray.type() == CV_32FC1, "image " + std::string(argv[1]));

  const NetworksConfig nets = load_networks_config(default_config_dir() / "networks.yaml");
  const MemberCard card = card_from_networks("squeezenet", "compact", nets);
  MemberOptions options;
  options.num_classes = static_cast<int64_t>(task.task.classes.size());
  options.width = card.width;
  options.input_side = card.input_side;
  Member member = make_member("squeezenet", options);
  member->eval();
  const CamResult cam = grad_cam(*member, preprocess(gray, card).unsqueeze(0), {gray.size()});
  const std::vector<std::vector<double>> p = probabilities(cam.batch);
  check(p.size() == 1 && p[0].size() == 2 && std::abs(p[0][0] + p[0][1] - 1.0) < 1e-5,
        "squeezenet probabilities sum to 1");
  check(cam.maps.size() == 1 && cam.maps[0].size() == gray.size(), "Grad-CAM map at the image's size");

  // Both lungs as two ellipses: the share is a fraction, and the gate decides.
  cv::Mat mask = cv::Mat::zeros(gray.size(), CV_8UC1);
  const int w = gray.cols, h = gray.rows;
  cv::ellipse(mask, {w * 3 / 10, h / 2}, {w / 6, h / 3}, 0, 0, 360, 255, cv::FILLED);
  cv::ellipse(mask, {w * 7 / 10, h / 2}, {w / 6, h / 3}, 0, 0, 360, 255, cv::FILLED);
  const LungShare share = lung_share(cam.maps[0], mask);
  check(share.mask_fraction > 0.2 && share.mask_fraction < 0.5, "mask fraction " + std::to_string(share.mask_fraction));
  GateOptions gate;
  gate.tau = 0.0;  // share >= 0: an Ok map passes
  const GateDecision d = gate_decide({share}, gate);
  check(d.passed.size() == 1 && d.passed[0] == (share.status == GateStatus::Ok), "gate decision");

  // Linking the library changed nothing process-wide (the tools' process policy is theirs).
  check(std::getenv("OMP_WAIT_POLICY") == nullptr, "OMP_WAIT_POLICY left unset");
  check(cv::utils::logging::getLogLevel() == opencv_log_level, "OpenCV's log level left as it was");
  return failures == 0 ? 0 : 1;
}
