// The report: results.csv / results.jsonl rows (parsed back), run.json, overlays and montages
// (sizes and border colours), NPY round trips (C++ and numpy), output names, .part files
// renamed only by finish(), write failures naming the path, and the progress bar's lines.
// Outcomes are built by hand from synthetic maps and masks; no torch, no models.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/gate.h"
#include "gradgate/report.h"
#include "gradgate/vote.h"
#include "report/format.h"
#include "test_util.h"

using namespace gradgate;
using gradgate::testing::slurp;
using gradgate::testing::TempDir;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kClasses = {"normal", "pneumonia"};
const std::vector<std::string> kMembers = {"alexnet", "resnet18", "googlenet-places"};
constexpr int kH = 60, kW = 80;

RunInfo run_info() {
  RunInfo r;
  r.task = "pneumonia";
  r.classes = kClasses;
  r.members = kMembers;
  r.untrained = {"alexnet", "resnet18"};
  r.preset = "compact";
  r.gate.tau = 0.5;
  r.gate.quorum = 2;
  r.gate.fallback = GateFallback::Abstain;
  r.vote = VoteRule::Soft;
  r.cam = CamMethod::GradCam;
  r.inputs = {"images/"};
  return r;
}

// Not cv::Mat::zeros: its MatExpr reads an OpenCV singleton created lazily inside the
// uninstrumented libopencv_core, which TSan reports when the first use is on another thread
// (ConcurrentAddsGiveWholeRowsAndUniqueStems builds outcomes on four).
cv::Mat lungs() {
  cv::Mat m(kH, kW, CV_8UC1, cv::Scalar(0));
  m(cv::Rect(10, 10, 22, 40)).setTo(255);
  m(cv::Rect(48, 10, 22, 40)).setTo(255);
  return m;
}

// A Gaussian blob centred at (cx, cy): inside a lung or outside the body.
cv::Mat blob(int cx, int cy) {
  cv::Mat m(kH, kW, CV_32FC1);
  for (int r = 0; r < kH; ++r)
    for (int c = 0; c < kW; ++c)
      m.at<float>(r, c) = std::exp(-((c - cx) * (c - cx) + (r - cy) * (r - cy)) / 50.0f);
  return m;
}

// One image, three members. `centres` put each member's map in or out of the lungs; the gate
// and the vote run for real (gate_decide, vote_gated).
ImageOutcome outcome(const fs::path& image, const std::vector<cv::Point>& centres,
                     const std::vector<std::vector<double>>& probs, int quorum = 2) {
  ImageOutcome o;
  o.image = image;
  o.ok = true;
  o.gray.create(kH, kW, CV_32FC1);
  for (int r = 0; r < kH; ++r)
    for (int c = 0; c < kW; ++c) o.gray.at<float>(r, c) = (r + c) / float(kH + kW);
  o.mask.mask = lungs();
  o.mask.source = LungMask::Source::File;
  o.mask.warnings = {"mask resized from 512x512 to 80x60", "second, \"quoted\" warning"};
  std::vector<LungShare> shares;
  for (size_t i = 0; i < kMembers.size(); ++i) {
    MemberOutcome m;
    m.name = kMembers[i];
    m.probs = probs[i];
    m.label = probs[i][1] > probs[i][0] ? 1 : 0;
    m.probability = probs[i][m.label];
    m.map = blob(centres[i].x, centres[i].y);
    m.share = lung_share(m.map, o.mask.mask);
    shares.push_back(m.share);
    o.members.push_back(m);
  }
  GateOptions g;
  g.tau = 0.5;
  g.quorum = quorum;
  o.gate = gate_decide(shares, g);
  for (size_t i = 0; i < o.members.size(); ++i) {
    o.members[i].passed = o.gate.passed[i];
    o.members[i].kept = o.gate.kept[i];
  }
  o.vote = vote_gated(probs, o.gate, VoteRule::Soft);
  return o;
}

// Two members in the lungs (kept), one outside the body (dropped): label pneumonia.
ImageOutcome decided(const fs::path& image) {
  return outcome(image, {{20, 30}, {59, 30}, {78, 2}}, {{0.2, 0.8}, {0.4, 0.6}, {0.9, 0.1}});
}
// Only one member in the lungs, quorum 2: abstains.
ImageOutcome abstaining(const fs::path& image) {
  return outcome(image, {{2, 2}, {59, 30}, {78, 58}}, {{0.3, 0.7}, {0.6, 0.4}, {0.5, 0.5}});
}
ImageOutcome failed(const fs::path& image, const std::string& error) {
  ImageOutcome o;
  o.image = image;
  o.ok = false;
  o.error = error;
  return o;
}

// RFC 4180 reader: quoted fields may hold commas, doubled quotes and newlines.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(field), field.clear();
    } else if (c == '\n') {
      row.push_back(field), field.clear();
      rows.push_back(row), row.clear();
      any = false;
      continue;
    } else {
      field += c;
    }
    any = true;
  }
  if (any) row.push_back(field), rows.push_back(row);
  return rows;
}

std::map<std::string, std::string> as_map(const std::vector<std::string>& header, const std::vector<std::string>& row) {
  std::map<std::string, std::string> m;
  for (size_t i = 0; i < header.size() && i < row.size(); ++i) m[header[i]] = row[i];
  return m;
}

bool have_python() { return fs::exists("/usr/bin/python3"); }
bool have_numpy() { return have_python() && std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

// Runs a Python script file; returns its exit code and stdout.
int run_python(const fs::path& script, const std::vector<std::string>& args, std::string* out) {
  std::string cmd = "/usr/bin/python3 '" + script.string() + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) *out += buf;
  const int rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

ReportOptions options_for(const fs::path& dir, bool save_maps = false) {
  ReportOptions o;
  o.out_dir = dir;
  o.save_maps = save_maps;
  o.render.overlay_side = 160;
  o.render.tile_side = 96;
  return o;
}

}  // namespace

// ---- encoding ----

// A montage's shares are rounded down, so that a drop is never explained by rounding: against
// a threshold of three decimals the shown value and the exact one are on the same side.
TEST(ReportFormat, GateScoresShownRoundedDownAgreeWithTheThreshold) {
  using gradgate::report_detail::floored;
  EXPECT_EQ(floored(0.4996, 3), "0.499");  // dropped at 0.5: never "0.500"
  EXPECT_EQ(floored(0.5, 3), "0.500");
  EXPECT_EQ(floored(0.5004, 3), "0.500");
  EXPECT_EQ(floored(1.2499, 2), "1.24");    // lift 1.25 drops it
  EXPECT_EQ(floored(std::nan(""), 3), "nan");
  for (double tau : {0.3, 0.45, 0.5, 0.625})
    for (double v = 0.0; v <= 1.0; v += 0.00037)
      EXPECT_EQ(std::stod(floored(v, 3)) >= tau - 1e-12, v >= tau) << v << " at tau " << tau;
}

TEST(ReportFormat, CsvQuotingAndJsonEscaping) {
  using namespace gradgate::report_detail;
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field(" padded"), "\" padded\"");
  EXPECT_EQ(json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");          // valid UTF-8 kept
  EXPECT_EQ(json_string("bad\xff"), "\"bad\\ufffd\"");                // invalid byte replaced
  EXPECT_EQ(json_string("\xc3"), "\"\\ufffd\"");                      // truncated sequence
  EXPECT_EQ(number(std::numeric_limits<double>::quiet_NaN()), "");
  EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(number(0.125), "0.125");
}

// ---- names ----

TEST(ReportNames, SanitizeAndDisambiguate) {
  EXPECT_EQ(sanitize_stem("my scan (1)"), "my_scan__1_");
  EXPECT_EQ(sanitize_stem(".hidden"), "_hidden");
  EXPECT_EQ(sanitize_stem(""), "image");
  EXPECT_EQ(sanitize_stem(std::string(300, 'a')).size(), 100u);
  EXPECT_EQ(sanitize_stem("a/b\\c"), "a_b_c");

  OutputNames names;
  EXPECT_EQ(names.stem_for("a/x.png"), "x");
  EXPECT_EQ(names.stem_for("b/x.jpeg"), "x_2");
  EXPECT_EQ(names.stem_for("c/X.png"), "X_3");   // case-insensitive file systems
  EXPECT_EQ(names.stem_for("a/./x.png"), "x");   // same file, same stem
  EXPECT_EQ(names.stem_for("d/x_2.png"), "x_2_2");  // a natural x_2 does not collide
}

// ---- results ----

TEST(ReportResults, RowsParseBackAndPartIsRenamedOnFinish) {
  TempDir tmp;
  const fs::path out = tmp / "out";
  const std::string nasty = "cannot read 'a,b.png': truncated \"PNG\"\nsecond line";
  {
    ReportWriter w(options_for(out), run_info());
    w.add(decided("imgs/one.png"));
    w.add(abstaining("imgs/two.png"));
    w.add(failed("imgs/three,\"q\".png", nasty));

    // Unfinished: only .part files, run.json says so.
    EXPECT_TRUE(fs::exists(out / "results.csv.part"));
    EXPECT_TRUE(fs::exists(out / "results.jsonl.part"));
    EXPECT_FALSE(fs::exists(out / "results.csv"));
    EXPECT_FALSE(fs::exists(out / "results.jsonl"));
    EXPECT_NE(slurp(out / "run.json").find("\"finished\": false"), std::string::npos);
    // Rows are flushed as they come: three rows + header already on disk.
    EXPECT_EQ(parse_csv(slurp(out / "results.csv.part")).size(), 4u);

    w.finish();
    EXPECT_EQ(w.counts().images, 3u);
    EXPECT_EQ(w.counts().ok, 2u);
    EXPECT_EQ(w.counts().errors, 1u);
    EXPECT_EQ(w.counts().abstained, 1u);
  }
  EXPECT_FALSE(fs::exists(out / "results.csv.part"));
  EXPECT_FALSE(fs::exists(out / "results.jsonl.part"));
  ASSERT_TRUE(fs::exists(out / "results.csv"));
  const std::string run_json = slurp(out / "run.json");
  EXPECT_NE(run_json.find("\"finished\": true"), std::string::npos);
  EXPECT_NE(run_json.find("\"untrained_members\": [\"alexnet\", \"resnet18\"]"), std::string::npos);

  const std::string csv = slurp(out / "results.csv");
  EXPECT_EQ(csv.find("nan"), std::string::npos);
  EXPECT_EQ(csv.find("inf"), std::string::npos);
  const auto rows = parse_csv(csv);
  ASSERT_EQ(rows.size(), 4u);
  const auto& header = rows[0];
  EXPECT_EQ(header[0], "image");
  EXPECT_EQ(header[2], "status");
  EXPECT_NE(std::find(header.begin(), header.end(), "prob_pneumonia"), header.end());
  EXPECT_NE(std::find(header.begin(), header.end(), "googlenet-places_share"), header.end());
  for (const auto& r : rows) EXPECT_EQ(r.size(), header.size());

  // The decided image: members 0 and 1 in the lungs, member 2 outside the body.
  const ImageOutcome d = decided("imgs/one.png");
  auto r = as_map(header, rows[1]);
  EXPECT_EQ(r["image"], "imgs/one.png");
  EXPECT_EQ(r["stem"], "one");
  EXPECT_EQ(r["status"], "ok");
  EXPECT_EQ(r["error"], "");
  EXPECT_EQ(r["label"], "pneumonia");
  EXPECT_NEAR(std::stod(r["probability"]), 0.7, 1e-6);
  EXPECT_NEAR(std::stod(r["prob_normal"]), 0.3, 1e-6);
  EXPECT_NEAR(std::stod(r["prob_pneumonia"]), 0.7, 1e-6);
  EXPECT_EQ(r["abstained"], "false");
  EXPECT_EQ(r["fallback_used"], "false");
  EXPECT_EQ(r["num_members"], "3");
  EXPECT_EQ(r["num_passed"], "2");
  EXPECT_EQ(r["num_kept"], "2");
  EXPECT_EQ(r["mask_source"], "file");
  EXPECT_EQ(r["mask_warnings"], "mask resized from 512x512 to 80x60; second, \"quoted\" warning");
  EXPECT_NEAR(std::stod(r["mask_fraction"]), 2.0 * 22 * 40 / (kW * kH), 1e-6);
  EXPECT_EQ(r["untrained_members"], "alexnet;resnet18");
  EXPECT_EQ(r["alexnet_label"], "pneumonia");
  EXPECT_NEAR(std::stod(r["alexnet_prob"]), 0.8, 1e-6);
  EXPECT_NEAR(std::stod(r["alexnet_share"]), d.members[0].share.share, 1e-5);
  EXPECT_NEAR(std::stod(r["alexnet_lift"]), d.members[0].share.lift, 1e-5);
  EXPECT_EQ(r["alexnet_status"], "ok");
  EXPECT_EQ(r["alexnet_kept"], "true");
  EXPECT_EQ(r["googlenet-places_label"], "normal");
  EXPECT_LT(std::stod(r["googlenet-places_share"]), 0.5);
  EXPECT_EQ(r["googlenet-places_passed"], "false");
  EXPECT_EQ(r["googlenet-places_kept"], "false");

  // The abstention: a label-less row with its reason.
  r = as_map(header, rows[2]);
  EXPECT_EQ(r["status"], "ok");
  EXPECT_EQ(r["label"], "");
  EXPECT_EQ(r["probability"], "");
  EXPECT_EQ(r["abstained"], "true");
  EXPECT_FALSE(r["abstain_reason"].empty());
  EXPECT_EQ(r["num_passed"], "1");
  EXPECT_EQ(r["num_kept"], "0");
  EXPECT_EQ(r["resnet18_kept"], "false");
  EXPECT_EQ(r["resnet18_passed"], "true");

  // The error: message intact through quoting, the rest empty.
  r = as_map(header, rows[3]);
  EXPECT_EQ(r["image"], "imgs/three,\"q\".png");
  EXPECT_EQ(r["status"], "error");
  EXPECT_EQ(r["error"], nasty);
  EXPECT_EQ(r["label"], "");
  EXPECT_EQ(r["alexnet_prob"], "");
  EXPECT_EQ(r["untrained_members"], "alexnet;resnet18");

  // JSONL: three lines, each one object.
  const std::string jsonl = slurp(out / "results.jsonl");
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 3);
  EXPECT_EQ(jsonl.find("NaN"), std::string::npos);
}

TEST(ReportResults, JsonlAndCsvParseInPython) {
  TempDir tmp;
  const fs::path out = tmp / "out";
  {
    ReportWriter w(options_for(out), run_info());
    ImageOutcome d = decided("imgs/caf\xc3\xa9.png");
    d.members[2].probability = std::numeric_limits<double>::quiet_NaN();  // must not leak as NaN
    w.add(d);
    w.add(abstaining("imgs/two.png"));
    w.add(failed("imgs/bad\xff name.png", "control \x01 char, \"quotes\"\nnewline"));
    w.finish();
  }
  if (!have_python()) {
    // Structural check: every line is one {...} object with balanced braces outside strings.
    std::istringstream in(slurp(out / "results.jsonl"));
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) {
      ++lines;
      int depth = 0;
      bool str = false;
      for (size_t i = 0; i < line.size(); ++i) {
        if (str) {
          if (line[i] == '\\') ++i;
          else if (line[i] == '"') str = false;
        } else if (line[i] == '"') str = true;
        else if (line[i] == '{' || line[i] == '[') ++depth;
        else if (line[i] == '}' || line[i] == ']') --depth;
      }
      EXPECT_EQ(depth, 0) << line;
      EXPECT_FALSE(str) << line;
    }
    EXPECT_EQ(lines, 3);
    GTEST_SKIP() << "/usr/bin/python3 not found: JSONL checked structurally only";
  }
  const fs::path script = tmp / "check.py";
  std::ofstream(script) << R"(import csv, json, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open(out + '/results.jsonl', encoding='utf-8')]
assert len(rows) == 3, len(rows)
a, b, c = rows
assert a['status'] == 'ok' and a['label'] == 'pneumonia', a
assert a['image'] == 'imgs/caf\u00e9.png', a['image']
assert abs(a['probability'] - 0.7) < 1e-6
assert set(a['class_probs']) == {'normal', 'pneumonia'}
assert [m['name'] for m in a['members']] == ['alexnet', 'resnet18', 'googlenet-places']
assert a['members'][2]['probability'] is None
assert a['members'][2]['kept'] is False and a['members'][0]['kept'] is True
assert a['gate']['num_kept'] == 2 and a['gate']['fallback_used'] is False
assert a['mask']['source'] == 'file' and len(a['mask']['warnings']) == 2
assert a['outputs']['montage'] == 'montage/caf__.png', a['outputs']
assert b['abstained'] is True and b['label'] is None and b['abstain_reason']
assert c['status'] == 'error' and c['error'].startswith('control \x01 char'), c
assert c['image'] == 'imgs/bad\\xff name.png', c['image']
assert a['true_label'] is None and abs(a['plain']['probability'] - 0.5) < 1e-6, a['plain']
assert b['plain']['label'] is not None and b['plain']['probability'] is not None, b
run = json.load(open(out + '/run.json'))
assert run['task'] == 'pneumonia' and run['tau'] == 0.5 and run['quorum'] == 2, run
assert run['fallback'] == 'abstain' and run['vote'] == 'soft' and run['cam'] == 'gradcam'
assert run['untrained_members'] == ['alexnet', 'resnet18'] and run['finished'] is True
assert run['counts'] == {'images': 3, 'ok': 2, 'errors': 1, 'abstained': 1}, run['counts']
with open(out + '/results.csv', newline='', encoding='utf-8') as f:
    table = list(csv.DictReader(f))
assert len(table) == 3
assert table[0]['label'] == 'pneumonia' and table[0]['googlenet-places_prob'] == ''
assert table[2]['error'] == 'control \x01 char, "quotes"\nnewline', repr(table[2]['error'])
assert table[2]['image'] == 'imgs/bad\\xff name.png', table[2]['image']
assert table[1]['plain_label'] != '' and table[1]['label'] == '', table[1]
print('OK')
)";
  std::string output;
  EXPECT_EQ(run_python(script, {out.string()}, &output), 0) << output;
  EXPECT_NE(output.find("OK"), std::string::npos) << output;
}

TEST(ReportResults, DestroyedWithoutFinishLeavesOnlyPartFiles) {
  TempDir tmp;
  const fs::path out = tmp / "out";
  {
    ReportWriter w(options_for(out), run_info());
    w.add(decided("one.png"));
  }  // a killed run: no finish()
  EXPECT_TRUE(fs::exists(out / "results.csv.part"));
  EXPECT_FALSE(fs::exists(out / "results.csv"));
  EXPECT_FALSE(fs::exists(out / "results.jsonl"));
  EXPECT_NE(slurp(out / "run.json").find("\"finished\": false"), std::string::npos);
  // No temp files left behind by the atomic writes.
  for (const auto& e : fs::recursive_directory_iterator(out))
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(ReportResults, ConcurrentAddsGiveWholeRowsAndUniqueStems) {
  TempDir tmp;
  const fs::path out = tmp / "out";
  ReportOptions opt = options_for(out);
  opt.overlays = false;
  {
    ReportWriter w(opt, run_info());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 5; ++i) w.add(decided("dir" + std::to_string(i) + "/img" + std::to_string(t) + ".png"));
      });
    for (auto& th : threads) th.join();
    w.finish();
  }
  const auto rows = parse_csv(slurp(out / "results.csv"));
  ASSERT_EQ(rows.size(), 21u);
  std::set<std::string> stems;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), rows[0].size());
    stems.insert(as_map(rows[0], rows[i])["stem"]);
  }
  EXPECT_EQ(stems.size(), 20u);
  for (const auto& s : stems) EXPECT_TRUE(fs::exists(out / "montage" / (s + ".png"))) << s;
}

TEST(ReportResults, UnknownMemberIsRejected) {
  TempDir tmp;
  ResultWriter w(tmp / "out", run_info());
  ImageOutcome o = decided("x.png");
  o.members[1].name = "vgg16";
  EXPECT_THROW(w.add(o, "x"), std::invalid_argument);
}

TEST(ReportResults, UnwritableOutputNamesThePath) {
  TempDir tmp;
  std::ofstream(tmp / "blocker") << "a file, not a folder";
  const fs::path out = tmp / "blocker" / "out";
  try {
    ReportWriter w(options_for(out), run_info());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((tmp / "blocker").string()), std::string::npos) << e.what();
  }
  try {
    write_file_atomic(tmp / "blocker" / "x.png", "data");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.png"), std::string::npos) << e.what();
  }
}

// ---- images ----

TEST(ReportImages, OverlaysAndMontageHaveTheExpectedSizes) {
  TempDir tmp;
  const fs::path out = tmp / "out";
  const ReportOptions opt = options_for(out);
  {
    ReportWriter w(opt, run_info());
    w.add(decided("a/scan.png"));
    w.add(abstaining("b/scan.png"));  // same stem, other folder
    w.add(failed("c/broken.png", "corrupt"));
    w.finish();
  }
  const cv::Size disp = display_size({kW, kH}, opt.render.overlay_side);
  EXPECT_EQ(disp, cv::Size(160, 120));
  for (const std::string stem : {"scan", "scan_2"}) {
    for (const auto& m : kMembers) {
      const cv::Mat img = cv::imread((out / "overlays" / stem / (m + ".png")).string(), cv::IMREAD_UNCHANGED);
      ASSERT_FALSE(img.empty()) << stem << "/" << m;
      EXPECT_EQ(img.type(), CV_8UC3);
      EXPECT_EQ(img.cols, disp.width);
      EXPECT_EQ(img.rows, disp.height + caption_height(disp.width));
    }
    const cv::Mat mont = cv::imread((out / "montage" / (stem + ".png")).string(), cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(mont.empty()) << stem;
    const MontageLayout l = montage_layout(kMembers.size(), opt.render);
    EXPECT_EQ(l.tiles, 4);
    EXPECT_EQ(l.columns, 2);
    EXPECT_EQ(l.rows, 2);
    EXPECT_EQ(mont.size(), l.size());
  }
  EXPECT_FALSE(fs::exists(out / "overlays" / "broken"));
  EXPECT_FALSE(fs::exists(out / "montage" / "broken.png"));
  EXPECT_FALSE(fs::exists(out / "maps"));  // --save-maps off

  // Border colours: decision tile white, kept members green, the dropped one red.
  const cv::Mat mont = cv::imread((out / "montage" / "scan.png").string());
  const MontageLayout l = montage_layout(kMembers.size(), opt.render);
  const auto corner = [&](int tile) {
    return mont.at<cv::Vec3b>((tile / l.columns) * l.tile_height + 1, (tile % l.columns) * l.tile_width + 1);
  };
  EXPECT_EQ(corner(0), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(corner(1), cv::Vec3b(0, 200, 0));  // alexnet, kept
  EXPECT_EQ(corner(2), cv::Vec3b(0, 200, 0));  // resnet18, kept
  EXPECT_EQ(corner(3), cv::Vec3b(0, 0, 230));  // googlenet-places, dropped
}

TEST(ReportImages, HeatFollowsTheMapAndTheContourTheMask) {
  const ImageOutcome o = decided("x.png");
  RenderOptions opt;
  const cv::Size disp(kW, kH);  // 1:1 so pixels line up
  const cv::Mat plain = render_heat(o.gray, cv::Mat(), cv::Mat(), disp, opt);
  const cv::Mat heat = render_heat(o.gray, o.members[0].map, cv::Mat(), disp, opt);
  const cv::Mat contour = render_heat(o.gray, cv::Mat(), o.mask.mask, disp, opt);
  ASSERT_EQ(heat.size(), disp);
  // Without a map or mask the image is plain gray.
  const cv::Vec3b g = plain.at<cv::Vec3b>(30, 20);
  EXPECT_TRUE(g[0] == g[1] && g[1] == g[2]);
  // The blob's peak (20, 30) is coloured: JET's maximum is red.
  const cv::Vec3b h = heat.at<cv::Vec3b>(30, 20);
  EXPECT_GT(h[2], h[0] + 50);
  // The lung edge (x = 10) is drawn green, the centre of a lung is not.
  const cv::Vec3b e = contour.at<cv::Vec3b>(30, 10);
  EXPECT_GT(e[1], 200);
  EXPECT_LT(e[0], 100);
  EXPECT_EQ(contour.at<cv::Vec3b>(30, 20), plain.at<cv::Vec3b>(30, 20));
  // TURBO colours differently from JET; unknown names are config errors.
  RenderOptions turbo;
  turbo.colormap = colormap_from_string("Turbo");
  EXPECT_EQ(turbo.colormap, cv::COLORMAP_TURBO);
  EXPECT_GT(cv::norm(render_heat(o.gray, o.members[0].map, cv::Mat(), disp, turbo), heat), 0.0);
  EXPECT_THROW(colormap_from_string("rainbowish"), ConfigError);
  // An all-zero map gives no heat (no division by zero).
  EXPECT_EQ(cv::norm(render_heat(o.gray, cv::Mat::zeros(kH, kW, CV_32FC1), cv::Mat(), disp, opt), plain), 0.0);
}

// Issue 16: one colour scale across a montage's members. A map and the same map times 1000
// (raw Grad-CAM magnitudes differ that much between architectures) draw the same overlay; a
// uniform map is drawn paler than the concentrated blob beside it.
TEST(ReportImages, MembersShareOneScaleOfMassDensity) {
  ImageOutcome o = decided("x.png");
  ASSERT_GE(o.members.size(), 3u);
  o.members[1].map = o.members[0].map * 1000.0;
  o.members[2].map = cv::Mat(o.members[0].map.size(), CV_32FC1, cv::Scalar(0.5));
  RenderOptions opt;
  opt.overlay_side = kW;
  const auto overlays = render_overlays(o, {"normal", "pneumonia"}, opt);
  ASSERT_EQ(overlays.size(), o.members.size());
  const int rows = display_size({kW, kH}, opt.overlay_side).height;
  const cv::Rect picture(0, 0, overlays[0].cols, rows);
  EXPECT_EQ(cv::norm(overlays[0](picture), overlays[1](picture)), 0.0);
  // JET: blue (channel 0) dominates low values, red (channel 2) high ones.
  const cv::Vec3b blob = overlays[0].at<cv::Vec3b>(30, 20), flat = overlays[2].at<cv::Vec3b>(30, 20);
  EXPECT_GT(blob[2], flat[2] + 50) << "the uniform map should be pale beside the concentrated one";
  // Each map at its own maximum (the old way), the uniform map is all full colour.
  opt.common_scale = false;
  const auto own = render_overlays(o, {"normal", "pneumonia"}, opt);
  EXPECT_GT(own[2].at<cv::Vec3b>(30, 20)[2], flat[2] + 50);
}

// ---- NPY ----

namespace {
cv::Mat ramp_f32(int h, int w) {
  cv::Mat m(h, w, CV_32FC1);
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) m.at<float>(r, c) = float(r * w + c) * 0.25f - 3.0f;
  return m;
}
cv::Mat ramp_u8(int h, int w) {
  cv::Mat m(h, w, CV_8UC1);
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) m.at<uchar>(r, c) = static_cast<uchar>((r * w + c) % 256);
  return m;
}
}  // namespace

TEST(ReportNpy, RoundTripInCpp) {
  TempDir tmp;
  const cv::Mat f = ramp_f32(7, 13), u = ramp_u8(9, 31);
  cv::Mat d(3, 4, CV_64FC1);
  cv::randu(d, -1.0, 1.0);
  write_npy(tmp / "f.npy", f);
  write_npy(tmp / "u.npy", u);
  write_npy(tmp / "d.npy", d);
  for (const auto& [name, m] : std::vector<std::pair<std::string, cv::Mat>>{{"f.npy", f}, {"u.npy", u}, {"d.npy", d}}) {
    const std::string bytes = slurp(tmp / name);
    const size_t data = m.total() * m.elemSize();
    ASSERT_GT(bytes.size(), data);
    EXPECT_EQ((bytes.size() - data) % 64, 0u) << name;  // header padded to 64
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    EXPECT_EQ(bytes[bytes.size() - data - 1], '\n');
    const cv::Mat back = read_npy(tmp / name);
    ASSERT_EQ(back.type(), m.type()) << name;
    ASSERT_EQ(back.size(), m.size()) << name;
    EXPECT_EQ(std::memcmp(back.data, m.data, data), 0) << name;
  }
  // A non-continuous view (a ROI) is written row by row.
  const cv::Mat roi = f(cv::Rect(2, 1, 5, 4));
  write_npy(tmp / "roi.npy", roi);
  EXPECT_EQ(cv::norm(read_npy(tmp / "roi.npy"), roi, cv::NORM_INF), 0.0);
  EXPECT_THROW(write_npy(tmp / "bad.npy", cv::Mat(2, 2, CV_16UC1)), std::invalid_argument);
  std::ofstream(tmp / "junk.npy") << "not numpy";
  EXPECT_THROW(read_npy(tmp / "junk.npy"), Error);
}

TEST(ReportNpy, SaveMapsReadBackEqualInCppAndNumpy) {
  TempDir tmp;
  const fs::path out = tmp / "out";
  const ImageOutcome d = decided("imgs/one.png");
  {
    ReportWriter w(options_for(out, /*save_maps=*/true), run_info());
    w.add(d);
    w.finish();
  }
  for (size_t i = 0; i < kMembers.size(); ++i) {
    const cv::Mat back = read_npy(out / "maps" / "one" / (kMembers[i] + ".npy"));
    ASSERT_EQ(back.type(), CV_32FC1);
    EXPECT_EQ(cv::norm(back, d.members[i].map, cv::NORM_INF), 0.0) << kMembers[i];
  }
  const cv::Mat mask = read_npy(out / "maps" / "one" / "mask.npy");
  ASSERT_EQ(mask.type(), CV_8UC1);
  EXPECT_EQ(cv::norm(mask, d.mask.mask, cv::NORM_INF), 0.0);

  if (!have_numpy()) GTEST_SKIP() << "numpy not importable by /usr/bin/python3: numpy check skipped";
  write_npy(tmp / "f.npy", ramp_f32(7, 13));
  write_npy(tmp / "u.npy", ramp_u8(9, 31));
  const fs::path script = tmp / "check.py";
  std::ofstream(script) << R"(import sys, numpy as np
d, out = sys.argv[1], sys.argv[2]
f = np.load(d + '/f.npy')
assert f.dtype == np.float32 and f.shape == (7, 13), (f.dtype, f.shape)
assert np.array_equal(f, np.arange(7 * 13, dtype=np.float32).reshape(7, 13) * np.float32(0.25) - np.float32(3))
u = np.load(d + '/u.npy')
assert u.dtype == np.uint8 and u.shape == (9, 31)
assert np.array_equal(u, (np.arange(9 * 31) % 256).astype(np.uint8).reshape(9, 31))
m = np.load(out + '/maps/one/alexnet.npy')
assert m.dtype == np.float32 and m.shape == (60, 80), (m.dtype, m.shape)
yy, xx = np.mgrid[0:60, 0:80]
assert abs(float(m[30, 20]) - 1.0) < 1e-6 and np.unravel_index(m.argmax(), m.shape) == (30, 20)
k = np.load(out + '/maps/one/mask.npy')
assert k.dtype == np.uint8 and k.shape == (60, 80) and set(np.unique(k)) == {0, 255}
assert int((k > 0).sum()) == 2 * 22 * 40
np.save(d + '/from_numpy.npy', np.arange(12, dtype=np.float32).reshape(3, 4))
print('OK')
)";
  std::string output;
  EXPECT_EQ(run_python(script, {tmp.path().string(), out.string()}, &output), 0) << output;
  EXPECT_NE(output.find("OK"), std::string::npos) << output;
  // And numpy's own file reads back in C++.
  const cv::Mat np_file = read_npy(tmp / "from_numpy.npy");
  ASSERT_EQ(np_file.type(), CV_32FC1);
  ASSERT_EQ(np_file.size(), cv::Size(4, 3));
  EXPECT_EQ(np_file.at<float>(2, 3), 11.0f);
}

// ---- progress ----

namespace {
std::string read_all(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}
}  // namespace

TEST(ReportProgress, LinesModePrintsEveryTenPercent) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressBar bar(200, "classify", ProgressBar::Mode::Lines, f);
    for (size_t i = 1; i <= 200; ++i) bar.update(i);
    bar.update(50);  // going back is ignored
    bar.finish();
    bar.finish();
  }
  const std::string s = read_all(f);
  std::fclose(f);
  EXPECT_EQ(s.find('\r'), std::string::npos);
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 11) << s;  // 0%, 10%, ..., 100%
  EXPECT_NE(s.find("classify [##############################] 200/200"), std::string::npos) << s;
  EXPECT_NE(s.find("20/200"), std::string::npos) << s;
  EXPECT_NE(s.find("img/s"), std::string::npos);
}

TEST(ReportProgress, TerminalModeRedrawsInPlaceAndEndsWithNewline) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressBar bar(4, "x", ProgressBar::Mode::Terminal, f);
    bar.tick();
    bar.tick(3);
  }  // destructor finishes
  const std::string s = read_all(f);
  std::fclose(f);
  EXPECT_EQ(s.front(), '\r');
  EXPECT_EQ(s.back(), '\n');
  EXPECT_NE(s.find("4/4"), std::string::npos) << s;
}

TEST(ReportProgress, LineTextAndUnknownTotal) {
  ProgressBar bar(100, "run", ProgressBar::Mode::Off, nullptr);
  EXPECT_EQ(bar.line(25, 10.0), "run [#######                       ] 25/100  2.5 img/s  ETA 30s");
  EXPECT_EQ(bar.line(100, 50.0), "run [##############################] 100/100  2.0 img/s  50s");
  ProgressBar open(0, "", ProgressBar::Mode::Off, nullptr);
  EXPECT_EQ(open.line(7, 2.0), "7  3.5 img/s  2s");
}
