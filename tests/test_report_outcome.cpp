// report.h stands on the outcome/gate/vote layer alone: this TU includes report.h only (no
// precompiled header, see tests/CMakeLists.txt), so neither the ensemble nor torch is here.
#include "gradgate/report.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "test_util.h"

// report.h must not bring torch in (c10's macros would be defined)...
#ifdef C10_UNLIKELY
#error "gradgate/report.h includes torch"
#endif

// ...nor ensemble.h: if gradgate::EnsembleOptions / gradgate::Ensemble were declared, the
// names below would be ambiguous and this file would not compile.
namespace report_layer_probe {
struct EnsembleOptions {
  int probe = 1;
};
struct Ensemble {
  int probe = 2;
};
}  // namespace report_layer_probe
namespace report_layer_check {
using namespace gradgate;
using namespace report_layer_probe;
constexpr int kOptionsProbe = EnsembleOptions{}.probe;
constexpr int kEnsembleProbe = Ensemble{}.probe;
}  // namespace report_layer_check

TEST(ReportLayer, WritesAnImageOutcomeBuiltWithoutTheEnsemble) {
  static_assert(report_layer_check::kOptionsProbe == 1 && report_layer_check::kEnsembleProbe == 2);
  using namespace gradgate;
  gradgate::testing::TempDir dir;
  ImageOutcome o;
  o.image = "x.png";
  o.ok = true;
  o.mask.source = LungMask::Source::Segmenter;
  MemberOutcome m;
  m.name = "resnet18";
  m.label = 1;
  m.probability = 0.75;
  m.probs = {0.25, 0.75};
  m.share.share = 0.9;
  m.passed = m.kept = true;
  o.members.push_back(m);
  o.gate.passed = {true};
  o.gate.kept = {true};
  o.gate.num_passed = 1;
  o.vote.label = 1;
  o.vote.probability = 0.75;
  o.vote.class_probs = {0.25, 0.75};

  RunInfo run;
  run.task = "pneumonia";
  run.classes = {"normal", "pneumonia"};
  run.members = {"resnet18"};
  run.cam = CamMethod::HiResCam;
  {
    ResultWriter w(dir.path(), run);
    w.add(o, "x");
    w.finish();
    EXPECT_EQ(w.rows(), 1u);
  }
  std::ifstream in(dir / "results.csv");
  std::string header, row;
  ASSERT_TRUE(std::getline(in, header));
  ASSERT_TRUE(std::getline(in, row));
  EXPECT_NE(row.find("pneumonia"), std::string::npos) << row;
  EXPECT_NE(row.find("segmenter"), std::string::npos) << row;
  EXPECT_NE(header.find("resnet18"), std::string::npos) << header;
}
