// PNG and NPY files (written through write_file_atomic) and output stems.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "gradgate/common/atomic_file.h"
#include "gradgate/error.h"
#include "gradgate/report.h"

namespace fs = std::filesystem;

namespace gradgate {

const char* gradgate_version() {
#ifdef GRADGATE_VERSION
  return GRADGATE_VERSION;
#else
  return "0.1.0";
#endif
}

// ---- NPY ----

void write_npy(const fs::path& path, const cv::Mat& m) {
  if (m.empty() || m.channels() != 1 || m.dims != 2)
    throw std::invalid_argument("write_npy " + path.string() + ": expected a non-empty 2-D single-channel matrix");
  const char* descr = nullptr;
  switch (m.depth()) {
    case CV_32F: descr = "<f4"; break;
    case CV_64F: descr = "<f8"; break;
    case CV_8U: descr = "|u1"; break;
    default:
      throw std::invalid_argument("write_npy " + path.string() + ": only CV_32F, CV_64F and CV_8U are written");
  }
  static_assert(sizeof(float) == 4, "float32");
  // NPY v1.0: magic, version, little-endian uint16 header length; the header is a Python dict
  // literal padded with spaces and ended by '\n' so that magic+len+header is a multiple of 64.
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" +
                       std::to_string(m.rows) + ", " + std::to_string(m.cols) + "), }";
  const size_t prefix = 10;  // 6 magic + 2 version + 2 length
  const size_t total = ((prefix + header.size() + 1 + 63) / 64) * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xFF);
  bytes += static_cast<char>((header.size() >> 8) & 0xFF);
  bytes += header;
  const size_t row_bytes = m.cols * m.elemSize();
  bytes.reserve(bytes.size() + row_bytes * m.rows);
  // x86/ARM little-endian hosts: the memory layout is '<'.
  for (int r = 0; r < m.rows; ++r) bytes.append(reinterpret_cast<const char*>(m.ptr(r)), row_bytes);
  write_file_atomic(path, bytes);
}

cv::Mat read_npy(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  const auto bad = [&](const std::string& why) -> Error {
    return Error("not a 2-D NPY file gradgate reads: " + path.string() + ": " + why);
  };
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw bad("no NPY magic");
  const int major = static_cast<unsigned char>(magic[6]);
  size_t hlen = 0;
  if (major == 1) {
    unsigned char l[2];
    if (!in.read(reinterpret_cast<char*>(l), 2)) throw bad("truncated header");
    hlen = l[0] | (l[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char l[4];
    if (!in.read(reinterpret_cast<char*>(l), 4)) throw bad("truncated header");
    hlen = l[0] | (l[1] << 8) | (l[2] << 16) | (static_cast<size_t>(l[3]) << 24);
  } else {
    throw bad("version " + std::to_string(major));
  }
  std::string header(hlen, '\0');
  if (!in.read(header.data(), hlen)) throw bad("truncated header");
  int type;
  if (header.find("'descr': '<f4'") != std::string::npos) type = CV_32F;
  else if (header.find("'descr': '<f8'") != std::string::npos) type = CV_64F;
  else if (header.find("'descr': '|u1'") != std::string::npos) type = CV_8U;
  else throw bad("dtype is not <f4, <f8 or |u1: " + header);
  if (header.find("'fortran_order': False") == std::string::npos) throw bad("Fortran order");
  const auto s = header.find("'shape': (");
  if (s == std::string::npos) throw bad("no shape");
  int rows = -1, cols = -1;
  if (std::sscanf(header.c_str() + s + 10, "%d, %d)", &rows, &cols) != 2 || rows <= 0 || cols <= 0)
    throw bad("shape is not (rows, cols): " + header);
  cv::Mat m(rows, cols, type);
  const size_t bytes = m.total() * m.elemSize();
  if (!in.read(reinterpret_cast<char*>(m.data), static_cast<std::streamsize>(bytes)))
    throw bad("truncated data (" + std::to_string(bytes) + " bytes expected)");
  return m;
}

// ---- output stems ----

std::string sanitize_stem(const std::string& stem) {
  std::string out;
  for (char c : stem) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  if (!out.empty() && out.front() == '.') out.front() = '_';
  if (out.size() > 100) out.resize(100);
  if (out.empty()) out = "image";
  return out;
}

std::string OutputNames::stem_for(const fs::path& image) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string key = image.lexically_normal().string();
  if (auto it = by_path_.find(key); it != by_path_.end()) return it->second;
  const std::string base = sanitize_stem(image.stem().string());
  const auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  std::string stem = base;
  for (int k = 2; used_lower_.count(lower(stem)); ++k) stem = base + "_" + std::to_string(k);
  used_lower_.insert(lower(stem));
  by_path_.emplace(key, stem);
  return stem;
}

}  // namespace gradgate
