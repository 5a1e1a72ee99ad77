// The output folder's lock and the removal of an earlier run's outputs (output_dir.h).
#include "gradgate/output_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "gradgate/error.h"

namespace gradgate {

namespace fs = std::filesystem;

namespace {

std::string read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "unknown" : s;
}

bool has_extension(const fs::path& p, const char* ext) { return p.extension() == ext; }

// Removes the regular files with extension `ext` directly in `dir`; returns how many.
std::size_t remove_files(const fs::path& dir, const char* ext) {
  std::size_t n = 0;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return 0;  // never through a symlink
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_symlink(ec) || !e.is_regular_file(ec) || !has_extension(e.path(), ext)) continue;
    if (fs::remove(e.path(), ec)) ++n;
  }
  return n;
}

void remove_if_empty(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(dir, ec)) && fs::is_empty(dir, ec)) fs::remove(dir, ec);
}

// <root>/<stem>/*.<ext> for every stem folder, then the empty stem folders and root.
std::size_t remove_per_image(const fs::path& root, const char* ext) {
  std::size_t n = 0;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(root, ec))) return 0;
  std::vector<fs::path> stems;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (!e.is_symlink(ec) && e.is_directory(ec)) stems.push_back(e.path());
  for (const auto& s : stems) {
    n += remove_files(s, ext);
    remove_if_empty(s);
  }
  remove_if_empty(root);
  return n;
}

}  // namespace

OutputLock::OutputLock(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create output folder " + dir.string() + ": " + ec.message());
  const fs::path file = dir / kFileName;
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw Error("cannot open the lock file " + file.string() + " of output folder " + dir.string() +
                ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string pid = read_pid(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw Error("output folder " + dir.string() + " is in use by another gradgate run (pid " + pid +
                  "); wait for it to finish, or choose another --out");
    throw Error("cannot lock output folder " + dir.string() + ": " + std::strerror(err));
  }
  // The holder's pid, for the message of a run that finds the folder locked.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    const ssize_t w = ::pwrite(fd_, pid.data(), pid.size(), 0);
    (void)w;  // the pid is informational; the flock is the lock
  }
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock; the file stays (removing it would race)
}

std::size_t clear_previous_outputs(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "run.json", ec)) return 0;
  std::size_t n = 0;
  for (const char* name : {"results.csv", "results.jsonl", "results.csv.part", "results.jsonl.part", "run.json"})
    if (fs::remove(dir / name, ec)) ++n;
  n += remove_files(dir / "montage", ".png");
  remove_if_empty(dir / "montage");
  n += remove_per_image(dir / "overlays", ".png");
  n += remove_per_image(dir / "maps", ".npy");
  return n;
}

}  // namespace gradgate
