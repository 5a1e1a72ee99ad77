// Data sets: the three formats (generated here), the CSV parser's corner cases, TaskView,
// and, when the cxr data is present, its row count, patient-disjoint splits and the
// per-split class counts of the four tasks (from the data README's table).
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "dataset/csv_reader.h"
#include "gradgate/config.h"
#include "gradgate/dataset.h"
#include "gradgate/error.h"
#include "gradgate/inputs.h"
#include "test_util.h"

using namespace gradgate;
using gradgate::testing::source_dir;
using gradgate::testing::TempDir;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::vector<Sample> all_samples(const Dataset& d) {
  std::vector<Sample> out;
  auto r = d.reader();
  Sample s;
  while (r->next(s)) out.push_back(s);
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DatasetError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)

TaskSpec pneumonia_task() {
  TaskSpec t;
  t.name = "pneumonia";
  t.classes = {"normal", "pneumonia"};
  t.label_map = {{"normal", "normal"}, {"bacterial", "pneumonia"}, {"viral", "pneumonia"},
                 {"pneumonia", "pneumonia"}};
  t.sources = {"kermany"};
  return t;
}

}  // namespace

TEST(Csv, QuotesCommasNewlinesAndCrlf) {
  TempDir dir;
  write(dir / "q.csv",
        "\xEF\xBB\xBF" "a,b,c\r\n"
        "\"x, y\",\"say \"\"hi\"\"\",\r\n"
        "\r\n"
        "\"multi\nline\",2,3\n"
        "last,,\"\"");
  dataset_detail::CsvReader csv(dir / "q.csv");
  std::vector<std::string> row;
  ASSERT_TRUE(csv.next(row));
  EXPECT_EQ(row, (std::vector<std::string>{"a", "b", "c"}));  // BOM stripped
  ASSERT_TRUE(csv.next(row));
  EXPECT_EQ(row, (std::vector<std::string>{"x, y", "say \"hi\"", ""}));
  EXPECT_EQ(csv.line(), 2u);
  ASSERT_TRUE(csv.next(row));  // the blank line is skipped
  EXPECT_EQ(row, (std::vector<std::string>{"multi\nline", "2", "3"}));
  EXPECT_EQ(csv.line(), 4u);
  ASSERT_TRUE(csv.next(row));
  EXPECT_EQ(row, (std::vector<std::string>{"last", "", ""}));
  EXPECT_EQ(csv.line(), 6u);
  EXPECT_FALSE(csv.next(row));
}

TEST(Csv, MalformedQuotingNamesFileAndLine) {
  TempDir dir;
  write(dir / "open.csv", "a,b\nok,1\n\"never closed,2\n");
  const std::string open = error_of([&] {
    dataset_detail::CsvReader csv(dir / "open.csv");
    std::vector<std::string> row;
    while (csv.next(row)) {
    }
  });
  EXPECT_CONTAINS(open, "open.csv:3:");
  EXPECT_CONTAINS(open, "unterminated");

  write(dir / "after.csv", "a,b\n\"x\"y,2\n");
  const std::string after = error_of([&] {
    dataset_detail::CsvReader csv(dir / "after.csv");
    std::vector<std::string> row;
    while (csv.next(row)) {
    }
  });
  EXPECT_CONTAINS(after, "after.csv:2:");
  EXPECT_CONTAINS(after, "closing quote");
}

TEST(Dataset, ManifestFormat) {
  TempDir dir;
  write(dir / "manifest.csv",
        "image,mask,patient,source,finding,diagnosis,view,split,license,citation\n"
        "images/a.png,masks/a.png,k-1,kermany,NORMAL,normal,AP,train,CC BY 4.0,\"Kermany, 2018\"\n"
        "images/b.jpeg,,k-2,kermany,bacterial,bacterial,AP,val,CC BY 4.0,x\n"
        "images/c.png,,c-1,cohen,\"COVID-19, ARDS\",covid,PA,test,CC BY-NC-SA 4.0,y\n");
  const auto ds = open_dataset(dir.path());  // the folder holds manifest.csv
  EXPECT_STREQ(ds->format(), "manifest");
  const auto s = all_samples(*ds);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].image, (dir / "images/a.png").lexically_normal());
  EXPECT_TRUE(s[0].image.is_absolute());
  ASSERT_TRUE(s[0].mask.has_value());
  EXPECT_EQ(*s[0].mask, (dir / "masks/a.png").lexically_normal());
  EXPECT_FALSE(s[1].mask.has_value());
  EXPECT_EQ(s[0].citation, "Kermany, 2018");
  EXPECT_EQ(s[2].finding, "COVID-19, ARDS");
  EXPECT_EQ(s[2].diagnosis, "covid");
  EXPECT_EQ(s[2].split, Split::Test);
  EXPECT_EQ(s[2].source, "cohen");
  EXPECT_EQ(s[1].split, Split::Val);

  // The CSV file itself opens as a manifest too.
  EXPECT_STREQ(open_dataset(dir / "manifest.csv")->format(), "manifest");
}

// Issue 16: a split of another name (an external test set) is read, kept by name and left out
// of the class counts that training checks; training itself refuses it (test_train).
TEST(Dataset, ManifestSplitOfAnotherNameIsOther) {
  TempDir dir;
  write(dir / "manifest.csv",
        "image,mask,patient,source,finding,diagnosis,view,split,license,citation\n"
        "images/a.png,,k-1,kermany,NORMAL,normal,AP,train,x,y\n"
        "images/b.png,,h-1,hospital2,NORMAL,normal,PA,External,x,y\n");
  const auto ds = open_dataset(dir.path());
  const auto s = all_samples(*ds);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].split, Split::Train);
  EXPECT_EQ(s[0].split_text, "");
  EXPECT_EQ(s[1].split, Split::Other);
  EXPECT_EQ(s[1].split_text, "External");
  TaskSpec task;
  task.name = "t";
  task.classes = {"normal", "pneumonia"};
  task.label_map = {{"normal", "normal"}, {"pneumonia", "pneumonia"}};
  const ClassCounts c = TaskView(ds, task).counts();
  EXPECT_EQ(c.total(), 1);
  EXPECT_EQ(c.at(Split::Train, 0), 1);
  EXPECT_EQ(c.total(Split::Other), 0);
  EXPECT_EQ(c.at(Split::Other, 0), 0);
}

TEST(Dataset, ManifestErrorsNameFileAndLine) {
  TempDir dir;
  const std::string header = "image,mask,patient,source,finding,diagnosis,view,split,license,citation\n";
  write(dir / "short.csv", header + "images/a.png,,k-1,kermany,NORMAL,normal,AP,train,x,y\n"
                                    "images/b.png,,k-2,kermany,NORMAL,normal,AP\n");
  const std::string short_row = error_of([&] { all_samples(*open_dataset(dir / "short.csv")); });
  EXPECT_CONTAINS(short_row, "short.csv:3:");
  EXPECT_CONTAINS(short_row, "expected 10 fields");

  write(dir / "split.csv", header + "images/a.png,,k-1,kermany,NORMAL,normal,AP, ,x,y\n");
  const std::string split = error_of([&] { all_samples(*open_dataset(dir / "split.csv")); });
  EXPECT_CONTAINS(split, "split.csv:2:");
  EXPECT_CONTAINS(split, "empty 'split'");

  write(dir / "nocol.csv", "image,patient,source,finding,diagnosis\na.png,p,kermany,NORMAL,normal\n");
  const std::string nocol = error_of([&] { open_dataset(dir / "nocol.csv"); });
  EXPECT_CONTAINS(nocol, "nocol.csv:1:");
  EXPECT_CONTAINS(nocol, "'split'");
}

TEST(Dataset, TreeWithSplitFolders) {
  TempDir dir;
  const fs::path root = dir / "chest_xray";
  write(root / "train/NORMAL/IM-0001-0001.jpeg", "x");
  write(root / "train/NORMAL/IM-0001-0002.jpeg", "x");
  write(root / "train/PNEUMONIA/person12_bacteria_45.jpeg", "x");
  write(root / "train/PNEUMONIA/person12_virus_46.jpeg", "x");
  write(root / "test/PNEUMONIA/person7_virus_1.jpeg", "x");
  write(root / "val/COVID-19/case1.png", "x");
  write(root / "val/NORMAL/.DS_Store", "x");
  write(root / "README.txt", "not an image");
  write(root / "masks/train/NORMAL/IM-0001-0001.png", "m");
  const auto ds = open_dataset(root);
  EXPECT_STREQ(ds->format(), "tree");
  const auto s = all_samples(*ds);
  ASSERT_EQ(s.size(), 6u);  // sorted: test/, train/, val/
  EXPECT_EQ(s[0].image, root / "test/PNEUMONIA/person7_virus_1.jpeg");
  EXPECT_EQ(s[0].diagnosis, "viral");
  EXPECT_EQ(s[0].finding, "PNEUMONIA");
  EXPECT_EQ(s[0].split, Split::Test);
  EXPECT_EQ(s[0].patient, "person7");
  EXPECT_EQ(s[1].diagnosis, "normal");
  EXPECT_EQ(s[1].patient, "IM-0001");
  EXPECT_EQ(s[1].split, Split::Train);
  ASSERT_TRUE(s[1].mask.has_value());
  EXPECT_EQ(*s[1].mask, root / "masks/train/NORMAL/IM-0001-0001.png");
  EXPECT_FALSE(s[2].mask.has_value());
  EXPECT_EQ(s[3].diagnosis, "bacterial");
  EXPECT_EQ(s[4].diagnosis, "viral");
  EXPECT_EQ(s[5].diagnosis, "covid");
  EXPECT_EQ(s[5].split, Split::Val);
  for (const auto& x : s) EXPECT_TRUE(x.source.empty());
}

TEST(Dataset, TreeWithoutSplitFoldersHashesByPatient) {
  TempDir dir;
  for (int p = 0; p < 60; ++p)
    for (int i = 0; i < 2; ++i)
      write(dir / ("PNEUMONIA/person" + std::to_string(p) + "_bacteria_" + std::to_string(i) + ".jpeg"), "x");
  for (int p = 0; p < 60; ++p) write(dir / ("NORMAL/IM-" + std::to_string(1000 + p) + "-0001.jpeg"), "x");
  const auto s = all_samples(*open_dataset(dir.path()));
  ASSERT_EQ(s.size(), 180u);
  std::map<std::string, Split> patient_split;
  std::array<int, 3> per_split{};
  for (const auto& x : s) {
    auto [it, inserted] = patient_split.emplace(x.patient, x.split);
    EXPECT_EQ(it->second, x.split) << x.patient << " is in two splits";
    ++per_split[static_cast<int>(x.split)];
  }
  EXPECT_EQ(patient_split.size(), 120u);
  for (int k = 0; k < 3; ++k) EXPECT_GT(per_split[k], 0) << split_name(kSplits[k]);
  EXPECT_GT(per_split[0], per_split[1]);  // about 70/15/15
  // Deterministic: a second pass gives the same splits in the same order.
  const auto again = all_samples(*open_dataset(dir.path()));
  for (std::size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(again[i].image, s[i].image);
    EXPECT_EQ(again[i].split, s[i].split);
  }
}

TEST(Dataset, TreeImageOutsideClassFolderIsAnError) {
  TempDir dir;
  write(dir / "train/stray.png", "x");
  const std::string msg = error_of([&] { all_samples(*open_dataset(dir.path())); });
  EXPECT_CONTAINS(msg, "stray.png");
  EXPECT_CONTAINS(msg, "class folder");
}

TEST(Dataset, PlainCsvWithAndWithoutHeader) {
  TempDir dir;
  write(dir / "with.csv", "path,label,mask\nimgs/a.png,NORMAL,masks/a.png\nimgs/person3_virus_9.jpeg,PNEUMONIA,\n");
  const auto with = open_dataset(dir / "with.csv");
  EXPECT_STREQ(with->format(), "csv");
  const auto a = all_samples(*with);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].image, (dir / "imgs/a.png").lexically_normal());
  EXPECT_EQ(a[0].diagnosis, "normal");
  ASSERT_TRUE(a[0].mask.has_value());
  EXPECT_FALSE(a[1].mask.has_value());
  EXPECT_EQ(a[1].diagnosis, "viral");
  EXPECT_EQ(a[1].patient, "person3");

  write(dir / "without.csv", "/abs/x.png,covid\nrel/y.png,normal,rel/y_mask.png\n");
  const auto b = all_samples(*open_dataset(dir / "without.csv"));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].image, fs::path("/abs/x.png"));
  EXPECT_EQ(b[0].diagnosis, "covid");
  EXPECT_EQ(*b[1].mask, (dir / "rel/y_mask.png").lexically_normal());
  EXPECT_EQ(b[0].split, all_samples(*open_dataset(dir / "without.csv"))[0].split);

  write(dir / "split.csv", "image,label,split\nq.png,normal,test\n");
  EXPECT_EQ(all_samples(*open_dataset(dir / "split.csv"))[0].split, Split::Test);

  write(dir / "bad.csv", "a.png,normal\nb.png\n");
  const std::string msg = error_of([&] { all_samples(*open_dataset(dir / "bad.csv")); });
  EXPECT_CONTAINS(msg, "bad.csv:2:");
  EXPECT_CONTAINS(msg, "path,label");
}

TEST(Dataset, TaskViewFiltersCountsAndBatches) {
  TempDir dir;
  std::string csv = "image,mask,patient,source,finding,diagnosis,view,split,license,citation\n";
  // 5 train normal, 3 train bacterial, 2 val viral (kermany); 4 cohen rows (other source);
  // 2 kermany rows of a diagnosis the task does not use.
  for (int i = 0; i < 5; ++i) csv += "n" + std::to_string(i) + ".png,,k-n" + std::to_string(i) + ",kermany,,normal,AP,train,,\n";
  for (int i = 0; i < 3; ++i) csv += "b" + std::to_string(i) + ".png,,k-b" + std::to_string(i) + ",kermany,,bacterial,AP,train,,\n";
  for (int i = 0; i < 2; ++i) csv += "v" + std::to_string(i) + ".png,,k-v" + std::to_string(i) + ",kermany,,viral,AP,val,,\n";
  for (int i = 0; i < 4; ++i) csv += "c" + std::to_string(i) + ".png,,c-" + std::to_string(i) + ",cohen,,normal,PA,train,,\n";
  for (int i = 0; i < 2; ++i) csv += "o" + std::to_string(i) + ".png,,k-o" + std::to_string(i) + ",kermany,,other,AP,train,,\n";
  write(dir / "manifest.csv", csv);
  for (const char* present : {"n0.png", "n1.png", "b0.png"}) write(dir / present, "x");

  TaskView view(open_dataset(dir / "manifest.csv"), pneumonia_task());
  const ClassCounts c = view.counts();
  EXPECT_EQ(c.at(Split::Train, 0), 5);
  EXPECT_EQ(c.at(Split::Train, 1), 3);
  EXPECT_EQ(c.at(Split::Val, 1), 2);
  EXPECT_EQ(c.total(Split::Test), 0);
  EXPECT_EQ(c.total(), 10);

  auto batches = view.batches(Split::Train, 3);
  Batch b;
  std::vector<std::size_t> sizes;
  std::vector<int64_t> labels;
  while (batches.next(b)) {
    sizes.push_back(b.size());
    ASSERT_EQ(b.labels.size(), b.size());
    ASSERT_EQ(b.paths().size(), b.size());
    labels.insert(labels.end(), b.labels.begin(), b.labels.end());
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 2}));
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(view.list(Split::Val).size(), 2u);

  const MissingFiles m = view.check_files(4);
  EXPECT_EQ(m.checked, 10u);
  EXPECT_EQ(m.missing, 7u);
  EXPECT_EQ(m.listed.size(), 4u);
  EXPECT_CONTAINS(m.summary(), "7 of 10 files missing");
  EXPECT_CONTAINS(m.summary(), "n2.png");
}

TEST(Dataset, MissingPathIsAnError) {
  TempDir dir;
  const std::string msg = error_of([&] { open_dataset(dir / "nowhere"); });
  EXPECT_CONTAINS(msg, "nowhere");
  EXPECT_CONTAINS(msg, "not found");
}

// ---- the real cxr data set ----

TEST(CxrData, ManifestRowsAndPatientDisjointSplits) {
  GRADGATE_REQUIRE_CXR(data);
  const auto ds = open_dataset(data);
  EXPECT_STREQ(ds->format(), "manifest");
  std::map<std::string, Split> patient_split;
  std::size_t rows = 0, masks = 0;
  auto r = ds->reader();
  Sample s;
  while (r->next(s)) {
    ++rows;
    if (s.mask) ++masks;
    auto [it, inserted] = patient_split.emplace(s.patient, s.split);
    EXPECT_EQ(it->second, s.split) << "patient " << s.patient << " is in " << split_name(it->second)
                                   << " and " << split_name(s.split);
  }
  // The data README's figures: 7,184 images, 5,664 masks (Cohen 468, Kermany 4,949, JSRT 247).
  EXPECT_EQ(rows, 7184u);
  EXPECT_EQ(masks, 5664u);
}

TEST(CxrData, NoFileIsMissing) {
  GRADGATE_REQUIRE_CXR(data);
  const MissingFiles m = find_missing_files(*open_dataset(data));
  EXPECT_EQ(m.checked, 7184u + 5664u);
  EXPECT_TRUE(m.ok()) << m.summary();
}

// Expected counts computed from the README's table (source x diagnosis x split):
//   kermany normal 1105/239/239, bacterial 1916/407/457, viral 1044/239/210
//   cohen normal 12/3/4, bacterial 20/9/3, viral 18/0/3, covid 302/63/62, other 20/6/6
// The tasks' `sources` leave out jsrt, hannover and cxnet for now, so their rows don't count.
TEST(CxrData, TaskClassCountsMatchTheReadme) {
  GRADGATE_REQUIRE_CXR(data);
  const auto ds = open_dataset(data);
  // task -> [split][class], classes in the task file's order, splits train/val/test.
  const std::map<std::string, std::array<std::vector<int64_t>, 3>> expected = {
      // normal: kermany + cohen + jsrt; pneumonia: kermany's bacterial+viral, cohen's
      // bacterial+viral+covid (Hannover and COVID-CXNet are not the task's sources)
      {"pneumonia",
       {{{1105 + 12 + 65, 1916 + 1044 + 20 + 18 + 302},
         {239 + 3 + 14, 407 + 239 + 9 + 0 + 63},
         {239 + 4 + 14, 457 + 210 + 3 + 3 + 62}}}},
      // kermany + cohen
      {"bacterial-vs-viral", {{{1916 + 20, 1044 + 18}, {407 + 9, 239 + 0}, {457 + 3, 210 + 3}}}},
      // covid: cohen + cxnet + hannover; viral: kermany + cohen
      {"covid-vs-other", {{{302 + 287 + 132, 1044 + 18}, {63 + 51 + 13, 239 + 0}, {62 + 51 + 16, 210 + 3}}}},
      // covid as above; normal: kermany + cohen + jsrt; bacterial, viral: kermany + cohen
      {"covid-vs-all",
       {{{302 + 287 + 132, 1105 + 12 + 65, 1916 + 20, 1044 + 18},
         {63 + 51 + 13, 239 + 3 + 14, 407 + 9, 239 + 0},
         {62 + 51 + 16, 239 + 4 + 14, 457 + 3, 210 + 3}}}},
  };
  for (const auto& name : task_names()) {
    SCOPED_TRACE(name);
    const TaskConfig cfg = load_task(name, source_dir() / "config");
    const ClassCounts c = TaskView(ds, cfg.task).counts();
    const auto& want = expected.at(name);
    for (Split split : kSplits)
      EXPECT_EQ(c.counts[static_cast<int>(split)], want[static_cast<int>(split)])
          << "split " << split_name(split);
  }
}

// A manifest's licence and citation travel with each image to its montage (InputImage::credit):
// the committed demo films carry their attribution; a plain CSV's images carry none.
TEST(Inputs, ManifestLicenceBecomesTheImagesCredit) {
  const auto demo = collect_inputs({(source_dir() / "demo" / "manifest.csv").string()});
  ASSERT_EQ(demo.size(), 8u);
  for (const auto& in : demo) EXPECT_FALSE(in.credit.empty()) << in.image;
  EXPECT_EQ(demo[0].credit, "CC BY 4.0, Kermany et al. 2018, doi:10.17632/rscbjbr9sj.2");

  TempDir dir;
  std::ofstream(dir / "plain.csv") << "path,label\n" << (source_dir() / "demo" / "images" / "IM-0003-0001.jpeg").string()
                                   << ",normal\n";
  const auto plain = collect_inputs({(dir / "plain.csv").string()});
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_TRUE(plain[0].credit.empty());
}
