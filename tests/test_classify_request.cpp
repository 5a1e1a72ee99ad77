// ClassifyRequest: invalid gate/batch/thread values are ConfigErrors naming the option,
// thrown by run_classify before any output is written. run_classify is the torch side
// (gradgate); the name tables and the tau check it shares are in test_enum_names.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>

#include "gradgate/classify.h"
#include "gradgate/error.h"
#include "test_util.h"

using namespace gradgate;
namespace fs = std::filesystem;

namespace {

// The ConfigError message run_classify throws for `rq` ("" when none), and whether the
// output folder exists afterwards.
std::string classify_error(ClassifyRequest rq, const fs::path& out, bool* wrote) {
  rq.task = "pneumonia";
  rq.preset = "tiny";
  rq.members = {"resnet18"};
  rq.models_dir = out.parent_path() / "no-models";
  rq.allow_untrained = true;
  rq.inputs = {"/nonexistent/image.png"};
  rq.out = out;
  rq.progress = false;
  std::string msg;
  try {
    run_classify(rq);
  } catch (const ConfigError& e) {
    msg = e.what();
  } catch (const std::exception& e) {
    msg = std::string("not a ConfigError: ") + e.what();
  }
  *wrote = fs::exists(out);
  return msg;
}

}  // namespace

TEST(ClassifyRequest, InvalidValuesAreErrorsNamingTheOptionNotTheDefault) {
  gradgate::testing::TempDir dir;
  struct Case {
    std::optional<double> tau;
    std::optional<int> quorum;
    const char* option;
  };
  for (const Case& c : {Case{std::nan(""), {}, "--tau"}, Case{-0.1, {}, "--tau"},
                        Case{1.5, {}, "--tau"}, Case{{}, 0, "--quorum"}, Case{{}, -2, "--quorum"}}) {
    SCOPED_TRACE(c.option);
    ClassifyRequest rq;
    rq.tau = c.tau;
    rq.quorum = c.quorum;
    bool wrote = true;
    const std::string msg = classify_error(rq, dir / "out", &wrote);
    EXPECT_NE(msg.find(c.option), std::string::npos) << msg;
    EXPECT_EQ(msg.find("not a ConfigError"), std::string::npos) << msg;
    EXPECT_FALSE(wrote) << "output written before the error";
  }
  for (const auto& [batch, threads, option] :
       {std::tuple<int, int, const char*>{0, 0, "--batch"}, {8, -1, "--threads"}}) {
    SCOPED_TRACE(option);
    ClassifyRequest rq;
    rq.batch = batch;
    rq.threads = threads;
    bool wrote = true;
    const std::string msg = classify_error(rq, dir / "out", &wrote);
    EXPECT_NE(msg.find(option), std::string::npos) << msg;
    EXPECT_FALSE(wrote);
  }
  // A valid request gets past the gate settings (it fails later, on the missing input).
  ClassifyRequest ok;
  ok.tau = 0.0;
  ok.quorum = 1;
  bool wrote = true;
  const std::string msg = classify_error(ok, dir / "out", &wrote);
  EXPECT_EQ(msg.find("--tau"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("--quorum"), std::string::npos) << msg;
}
