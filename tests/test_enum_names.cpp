// The setting enums' name tables (enum_names.h), config.h's name lists derived from them, and
// the one validation of tau / quorum on the task file path (the classify request: test_classify_request.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <set>

#include <opencv2/imgproc.hpp>

#include "gradgate/cam_method.h"
#include "gradgate/config.h"
#include "gradgate/enum_names.h"
#include "gradgate/error.h"
#include "gradgate/gate.h"
#include "gradgate/lung_mask.h"
#include "gradgate/report.h"
#include "gradgate/vote.h"
#include "test_util.h"

using namespace gradgate;
namespace fs = std::filesystem;

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Every canonical name parses (exactly and in upper case) to a value whose name it is, the
// names are distinct, and an unknown name is a ConfigError naming the setting and listing
// every valid name.
template <typename E>
void expect_table_round_trips(const EnumNames<E>& table, size_t expected_names) {
  SCOPED_TRACE(table.what());
  const auto names = table.names();
  ASSERT_EQ(names.size(), expected_names);
  std::set<E> values;
  for (const auto& n : names) {
    const E v = table.from_string(n);
    EXPECT_EQ(std::string(table.to_string(v)), n);
    EXPECT_EQ(table.from_string(upper(n)), v);
    EXPECT_TRUE(table.contains(upper(n)));
    values.insert(v);
  }
  EXPECT_EQ(values.size(), names.size()) << "two canonical names for one value";
  EXPECT_FALSE(table.contains("no-such-name"));
  try {
    table.from_string("no-such-name");
    ADD_FAILURE() << "no-such-name was accepted";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(table.what()), std::string::npos) << msg;
    EXPECT_NE(msg.find("'no-such-name'"), std::string::npos) << msg;
    for (const auto& n : names) EXPECT_NE(msg.find(n), std::string::npos) << n << " not listed in: " << msg;
  }
}

enum class Probe { A, B };

}  // namespace

TEST(EnumNames, EveryTableRoundTripsAndRejectsUnknownNamesListingTheValidOnes) {
  expect_table_round_trips(gate_fallback_names(), 3);
  expect_table_round_trips(vote_rule_names(), 3);
  expect_table_round_trips(cam_method_names(), 4);
  expect_table_round_trips(lung_mask_source_names(), 3);
  expect_table_round_trips(colormap_names(), 4);
}

TEST(EnumNames, AliasesParseButTheFirstNameIsCanonical) {
  const EnumNames<Probe> t("probe", {{Probe::A, "a"}, {Probe::B, "b"}, {Probe::A, "alpha"}});
  EXPECT_EQ(t.from_string("ALPHA"), Probe::A);
  EXPECT_STREQ(t.to_string(Probe::A), "a");
  EXPECT_EQ(t.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.joined(" | "), "a | b");
  // The CAM method's aliases from before the table still parse.
  EXPECT_EQ(cam_method_from_string("gradcam++"), CamMethod::GradCamPlusPlus);
  EXPECT_EQ(cam_method_from_string("Grad-CAM"), CamMethod::GradCam);
  EXPECT_STREQ(to_string(CamMethod::GradCamPlusPlus), "gradcampp");
}

TEST(EnumNames, TheFreeFunctionsAreTheTables) {
  EXPECT_STREQ(to_string(GateFallback::Best), "best");
  EXPECT_EQ(gate_fallback_from_string("All"), GateFallback::All);
  EXPECT_STREQ(to_string(VoteRule::Weighted), "weighted");
  EXPECT_STREQ(to_string(LungMask::Source::Segmenter), "segmenter");
  EXPECT_EQ(colormap_from_string("TURBO"), cv::COLORMAP_TURBO);
  EXPECT_THROW(vote_rule_from_string("majority"), ConfigError);
}

TEST(EnumNames, ConfigNameListsComeFromTheTables) {
  EXPECT_EQ(fallback_names(), gate_fallback_names().names());
  EXPECT_EQ(vote_names(), vote_rule_names().names());
  EXPECT_EQ(cam_names(), cam_method_names().names());
  EXPECT_EQ(fallback_names(), (std::vector<std::string>{"abstain", "all", "best"}));
  EXPECT_EQ(cam_names(), (std::vector<std::string>{"gradcam", "gradcampp", "hirescam", "saliency"}));
  // The first name is the default, as the defaults' structs say.
  const EnsembleDefaults d;
  EXPECT_EQ(fallback_names().front(), to_string(d.gate.fallback));
  EXPECT_EQ(vote_names().front(), to_string(d.vote));
  EXPECT_EQ(cam_names().front(), to_string(d.cam));
}

TEST(GateDefaults, WrittenOnceAndSharedByTheTaskDefaults) {
  const GateOptions bare;
  const EnsembleDefaults task;
  EXPECT_DOUBLE_EQ(task.gate.tau, bare.tau);
  EXPECT_EQ(task.gate.fallback, bare.fallback);
  EXPECT_DOUBLE_EQ(bare.tau, 0.5);
  EXPECT_EQ(bare.quorum, 1);
  EXPECT_EQ(task.gate.quorum, 3);
}

TEST(GateTau, CheckedTauAcceptsTheClosedUnitIntervalOnly) {
  EXPECT_DOUBLE_EQ(checked_tau(GateCriterion::Share, 0.0, "--tau"), 0.0);
  EXPECT_DOUBLE_EQ(checked_tau(GateCriterion::Share, 1.0, "--tau"), 1.0);
  EXPECT_DOUBLE_EQ(checked_tau(GateCriterion::Share, 0.25, "--tau"), 0.25);
  for (double bad : {std::nan(""), -0.1, 1.0001, std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(bad);
    try {
      checked_tau(GateCriterion::Share, bad, "--tau");
      ADD_FAILURE() << "accepted";
    } catch (const ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("--tau"), std::string::npos) << msg;
      EXPECT_NE(msg.find("[0, 1]"), std::string::npos) << msg;
    }
  }
  // gate_decide uses the same check: NaN is not a threshold.
  GateOptions g;
  g.tau = std::nan("");
  EXPECT_THROW(gate_decide({LungShare{}}, g), ConfigError);
}

TEST(GateTau, TaskFileNanTauIsAnErrorNamingTheKey) {
  gradgate::testing::TempDir dir;
  const fs::path file = dir / "mytask.yaml";
  {
    std::ofstream(file) << "name: mytask\nclasses: [normal, pneumonia]\nlabels:\n  normal: normal\n"
                           "  bacterial: pneumonia\nensemble:\n  members: [resnet18]\n  tau: .nan\n"
                           "  models_dir: models/mytask\n";
  }
  try {
    load_task_config(file, dir.path());
    ADD_FAILURE() << "tau: .nan was accepted";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("ensemble.tau"), std::string::npos) << msg;
    EXPECT_NE(msg.find("a number in [0, 1]"), std::string::npos) << msg;
  }
}
