// A folder per class: root/[<split>/]<CLASS>/<image>. The class is the image's folder;
// a train/val/test folder above it gives the split, else the patient's hash does.
// A `masks` folder at the root, mirroring the tree with .png files, gives the masks.
#include <algorithm>

#include "dataset/csv_reader.h"
#include "dataset/naming.h"
#include "gradgate/error.h"
#include "gradgate/image.h"

namespace gradgate {

namespace fs = std::filesystem;
using namespace dataset_detail;

namespace {

// Deeper than this is a symlink loop, not a data set.
constexpr std::size_t kMaxDepth = 8;

class TreeReader : public SampleReader {
 public:
  explicit TreeReader(const fs::path& root) : root_(fs::absolute(root).lexically_normal()) {
    push(root_, 0);
  }

  bool next(Sample& out) override {
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      if (f.index >= f.entries.size()) {
        stack_.pop_back();
        continue;
      }
      const fs::path entry = f.entries[f.index++];
      const std::size_t depth = f.depth;
      const std::string name = entry.filename().string();
      if (name.empty() || name[0] == '.') continue;  // hidden files, .DS_Store, ...
      std::error_code ec;
      if (fs::is_directory(entry, ec)) {
        // The masks folder mirrors the tree; it holds no samples of its own.
        if (depth == 0 && lower(name) == "masks") continue;
        if (depth + 1 > kMaxDepth)
          throw DatasetError(entry.string() + ": folders nested deeper than " +
                             std::to_string(kMaxDepth) + " levels (a symlink loop?)");
        push(entry, depth + 1);
        continue;
      }
      if (!has_image_extension(entry)) continue;  // README, CSVs, thumbnails db, ...
      make_sample(entry, out);
      return true;
    }
    return false;
  }

 private:
  struct Frame {
    std::vector<fs::path> entries;  // one folder's names, sorted: a stable order everywhere
    std::size_t index = 0;
    std::size_t depth = 0;
  };

  void push(const fs::path& dir, std::size_t depth) {
    Frame f;
    f.depth = depth;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      f.entries.push_back(it->path());
    if (ec) throw DatasetError(dir.string() + ": cannot list the folder (" + ec.message() + ")");
    std::sort(f.entries.begin(), f.entries.end());
    stack_.push_back(std::move(f));
  }

  void make_sample(const fs::path& file, Sample& out) const {
    const fs::path rel = file.lexically_relative(root_);
    std::vector<std::string> parts;
    for (const auto& p : rel) parts.push_back(p.string());
    // parts = [dirs..., class, file]
    if (parts.size() < 2)
      throw DatasetError(file.string() + ": image directly in the data set folder; expected " +
                         root_.string() + "/[train|val|test/]<CLASS>/<image>");
    const std::string cls = parts[parts.size() - 2];
    if (parse_split(cls))
      throw DatasetError(file.string() + ": image directly in the split folder '" + cls +
                         "'; expected a class folder (e.g. NORMAL, PNEUMONIA) inside it");
    std::optional<Split> split;
    for (std::size_t i = 0; i + 2 < parts.size(); ++i)
      if (auto s = parse_split(parts[i])) split = s;

    out = Sample{};
    out.image = file;
    out.finding = cls;
    out.diagnosis = diagnosis_from_label(cls, file);
    out.patient = patient_from_file_name(file);
    out.split = split ? *split : hash_split(out.patient);
    fs::path mask = root_ / "masks" / rel;
    mask.replace_extension(".png");
    std::error_code ec;
    if (fs::is_regular_file(mask, ec)) out.mask = mask;
  }

  fs::path root_;
  std::vector<Frame> stack_;
};

class TreeDataset : public Dataset {
 public:
  explicit TreeDataset(const fs::path& root) : Dataset(root) {}
  std::unique_ptr<SampleReader> reader() const override { return std::make_unique<TreeReader>(path()); }
  const char* format() const override { return "tree"; }
};

}  // namespace

std::shared_ptr<const Dataset> open_tree(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw DatasetError(root.string() + ": not a folder");
  return std::make_shared<TreeDataset>(root);
}

}  // namespace gradgate
