#include "gradgate/inputs.h"

#include <algorithm>
#include <functional>
#include <set>

#include "gradgate/common/regular_file.h"
#include "gradgate/common/strings.h"
#include "gradgate/dataset.h"
#include "gradgate/error.h"
#include "gradgate/image.h"

namespace gradgate {

namespace fs = std::filesystem;

namespace {

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

}  // namespace

namespace {

// "<licence>, <citation>" when the row names a licence (InputImage::credit).
std::string image_credit(const Sample& s) {
  if (s.license.empty()) return {};
  return s.citation.empty() ? s.license : s.license + ", " + s.citation;
}

// One folder's images, sorted, with the masks beside them paired and left out.
std::vector<InputImage> list_folder(const fs::path& p, const std::string& arg, const std::vector<fs::path>& excluded,
                                    const std::function<void(const std::string&)>& warn) {
  std::error_code ec;
  std::vector<fs::path> found;
  // Not following directory symlinks (the default): a link back up cannot loop the walk.
  fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) throw DatasetError("cannot list folder " + arg + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) {
      warn("stopped listing " + arg + " early: " + ec.message());
      break;
    }
    std::error_code sec;
    const fs::file_status st = it->status(sec);  // follows a link to a file
    if (sec) {
      warn("skipped " + it->path().string() + ": " + sec.message());
      continue;
    }
    if (fs::is_directory(st)) {
      // Mask folders beside images are masks, not inputs; the run's output is not input.
      const bool skip = it->path().filename() == "masks" ||
                        std::find(excluded.begin(), excluded.end(), fs::weakly_canonical(it->path(), sec)) !=
                            excluded.end();
      if (skip) it.disable_recursion_pending();
      continue;
    }
    if (fs::is_regular_file(st) && has_image_extension(it->path())) found.push_back(it->path());
  }
  // A mask by the naming rule beside its image is that image's mask, not an image.
  std::sort(found.begin(), found.end());
  const auto mask_of = [&](const fs::path& f) -> std::optional<fs::path> {
    for (const char* suffix : {"_mask.png", ".mask.png"}) {
      const fs::path m = f.parent_path() / (f.stem().string() + suffix);
      if (m != f && std::binary_search(found.begin(), found.end(), m)) return m;
    }
    return std::nullopt;
  };
  std::set<fs::path> masks;
  for (const auto& f : found)
    if (auto m = mask_of(f)) masks.insert(*m);
  std::vector<InputImage> images;
  for (const auto& f : found) {
    if (masks.count(f)) continue;
    const auto m = mask_of(f);
    images.push_back({fs::absolute(f), m ? std::optional<fs::path>(fs::absolute(*m)) : std::nullopt, ""});
  }
  if (images.empty())
    throw DatasetError("no images (" + std::to_string(image_extensions().size()) + " extensions: " +
                       join(image_extensions(), " ") + ") under folder " + arg);
  return images;
}

}  // namespace

struct InputStream::Impl {
  std::vector<std::string> args;
  std::vector<std::shared_ptr<const Dataset>> datasets;  // per arg; null unless a CSV
  std::vector<fs::path> excluded;
  std::vector<std::string>* warnings = nullptr;
  std::size_t arg = 0;                     // the next argument to open
  std::vector<InputImage> pending;         // a folder's images (or one file), in order
  std::size_t pending_at = 0;
  std::unique_ptr<SampleReader> reader;    // the CSV being read
  std::string reader_arg;
  std::size_t reader_rows = 0;
};

InputStream::InputStream(const std::vector<std::string>& inputs, const std::vector<fs::path>& exclude,
                         std::vector<std::string>* warnings)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.args = inputs;
  s.warnings = warnings;
  // Compared as canonical paths: --out may be named relatively, through a symlink, or not
  // exist yet (then no file can be inside it).
  for (const auto& e : exclude) {
    std::error_code ec;
    const fs::path c = fs::weakly_canonical(e, ec);
    if (!ec) s.excluded.push_back(c);
  }
  for (const auto& arg : inputs) {
    const fs::path p(arg);
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      // "not found" unless the system said why (a path longer than PATH_MAX, a symlink loop).
      const std::string why = regular_file_problem(p);
      throw DatasetError(why == "not found" || why.empty() ? "input not found: " + arg : "input " + arg + ": " + why);
    }
    const bool csv = !fs::is_directory(p, ec) && lower_ext(p) == ".csv";
    s.datasets.push_back(csv ? open_dataset(p) : nullptr);
  }
}

InputStream::~InputStream() = default;

bool InputStream::next(InputImage& out) {
  Impl& s = *impl_;
  while (true) {
    if (s.pending_at < s.pending.size()) {
      out = std::move(s.pending[s.pending_at++]);
      return true;
    }
    if (s.reader) {
      Sample sample;
      if (s.reader->next(sample)) {
        ++s.reader_rows;
        out = {sample.image, sample.mask, sample.diagnosis, image_credit(sample)};
        return true;
      }
      s.reader.reset();
      if (s.reader_rows == 0) throw DatasetError("no rows in data set " + s.reader_arg);
    }
    if (s.arg >= s.args.size()) return false;
    const std::size_t i = s.arg++;
    const std::string& arg = s.args[i];
    const fs::path p(arg);
    s.pending.clear();
    s.pending_at = 0;
    std::error_code ec;
    if (s.datasets[i]) {
      s.reader = s.datasets[i]->reader();
      s.reader_arg = arg;
      s.reader_rows = 0;
      s.datasets[i].reset();
    } else if (fs::is_directory(p, ec)) {
      s.pending = list_folder(p, arg, s.excluded, [&](const std::string& w) {
        if (s.warnings) s.warnings->push_back(w);
      });
    } else {
      s.pending.push_back({fs::absolute(p), std::nullopt, ""});
    }
  }
}

std::vector<InputImage> collect_inputs(const std::vector<std::string>& inputs, const std::vector<fs::path>& exclude,
                                       std::vector<std::string>* warnings) {
  InputStream stream(inputs, exclude, warnings);
  std::vector<InputImage> out;
  for (InputImage in; stream.next(in);) out.push_back(std::move(in));
  return out;
}

}  // namespace gradgate
