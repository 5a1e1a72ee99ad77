#include "gradgate/common/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "gradgate/error.h"

namespace gradgate {

namespace fs = std::filesystem;

namespace {

std::atomic<unsigned> temp_counter{0};

[[noreturn]] void fail(const fs::path& path, const std::string& what, int err) {
  throw Error("cannot write " + path.string() + ": " + what +
              (err ? std::string(" (") + std::strerror(err) + ")" : ""));
}

void make_parent(const fs::path& path) {
  const fs::path parent = path.parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail(path, "cannot create folder " + parent.string() + ": " + ec.message(), 0);
}

void remove_quietly(const fs::path& tmp) {
  std::error_code ec;
  fs::remove(tmp, ec);
}

void rename_into_place(const fs::path& tmp, const fs::path& path) {
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    remove_quietly(tmp);
    fail(path, "cannot rename " + tmp.filename().string() + " onto it: " + ec.message(), 0);
  }
}

}  // namespace

fs::path atomic_temp_path(const fs::path& path) {
  return path.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
         std::to_string(temp_counter.fetch_add(1));
}

void write_file_atomic(const fs::path& path, const std::string& bytes) {
  make_parent(path);
  const fs::path tmp = atomic_temp_path(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail(path, "cannot create temporary file " + tmp.string(), errno);
  const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  int err = written == bytes.size() ? 0 : errno;
  if (std::fflush(f) != 0 && !err) err = errno ? errno : EIO;
  if (std::fclose(f) != 0 && !err) err = errno ? errno : EIO;
  if (written != bytes.size() || err) {
    remove_quietly(tmp);
    fail(path, "short write", err);
  }
  rename_into_place(tmp, path);
}

void write_file_atomic_with(const fs::path& path, const std::function<void(const fs::path& tmp)>& writer) {
  make_parent(path);
  const fs::path tmp = atomic_temp_path(path);
  try {
    writer(tmp);
  } catch (...) {
    remove_quietly(tmp);
    throw;
  }
  if (!fs::exists(tmp)) fail(path, "the writer did not create " + tmp.filename().string(), 0);
  rename_into_place(tmp, path);
}

void write_stream_atomic(const fs::path& path, const std::function<void(std::ostream& out)>& writer) {
  write_file_atomic_with(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot create temporary file " + tmp.string(), errno);
    writer(out);
    out.close();
    if (!out) fail(path, "writing failed (disk full?)", 0);
  });
}

}  // namespace gradgate
