#include "dataset/csv_reader.h"

#include <algorithm>
#include <cctype>

#include "gradgate/common/regular_file.h"
#include "gradgate/error.h"

namespace gradgate::dataset_detail {

namespace {
constexpr int kEof = std::char_traits<char>::eof();
// A path, label or note is never this long: a longer field is a binary or runaway file, which
// must not be read into memory whole.
constexpr std::size_t kMaxField = 64 * 1024;
std::string too_long() {
  return "a field longer than " + std::to_string(kMaxField / 1024) + " KiB (not a CSV of images?)";
}
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

CsvReader::CsvReader(const std::filesystem::path& file) : file_(file) {
  // Checked before the stream opens it: opening a FIFO for reading blocks, /dev/zero never ends.
  const std::string problem = regular_file_problem(file);
  if (problem == "not found") throw DatasetError(file.string() + ": file not found");
  if (!problem.empty()) throw DatasetError(file.string() + ": " + problem);
  in_.open(file, std::ios::binary);
  if (!in_) throw DatasetError(file.string() + ": cannot open for reading");
  buf_ = in_.rdbuf();
  // UTF-8 byte-order mark, as spreadsheet programs write it.
  if (buf_->sgetc() == 0xEF) {
    char bom[3] = {};
    const auto got = buf_->sgetn(bom, 3);
    if (!(got == 3 && static_cast<unsigned char>(bom[1]) == 0xBB &&
          static_cast<unsigned char>(bom[2]) == 0xBF)) {
      in_.clear();
      in_.seekg(0);
      buf_ = in_.rdbuf();
    }
  }
}

void CsvReader::fail(const std::string& message) const {
  throw DatasetError(file_.string() + ":" + std::to_string(row_line_) + ": " + message);
}

bool CsvReader::next(std::vector<std::string>& fields) {
  while (true) {
    fields.clear();
    if (buf_->sgetc() == kEof) return false;
    row_line_ = line_;
    std::string field;
    bool row_done = false;
    bool any_quotes = false;
    while (!row_done) {
      int c = buf_->sgetc();
      if (c == '"') {
        // Quoted field: runs to the closing quote; "" is a literal quote.
        any_quotes = true;
        buf_->sbumpc();
        while (true) {
          c = buf_->sbumpc();
          if (c == kEof) fail("unterminated quoted field (the closing quote is missing)");
          if (c == '"') {
            if (buf_->sgetc() == '"') {
              buf_->sbumpc();
              field += '"';
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          field += static_cast<char>(c);
          if (field.size() > kMaxField) fail(too_long());
        }
        c = buf_->sgetc();
        if (c != ',' && c != '\n' && c != '\r' && c != kEof)
          fail("unexpected character '" + std::string(1, static_cast<char>(c)) +
               "' after a closing quote (expected a comma or the end of the line)");
      } else {
        while (true) {
          c = buf_->sgetc();
          if (c == ',' || c == '\n' || c == '\r' || c == kEof) break;
          if (c == '"') fail("a quote inside an unquoted field (quote the whole field and double the quote)");
          field += static_cast<char>(buf_->sbumpc());
          if (field.size() > kMaxField) fail(too_long());
        }
      }
      // Here c is a separator, a line end or the end of the file.
      fields.push_back(std::move(field));
      field.clear();
      c = buf_->sbumpc();
      if (c == ',') continue;
      if (c == '\r' && buf_->sgetc() == '\n') buf_->sbumpc();
      if (c == '\r' || c == '\n') ++line_;
      row_done = true;
    }
    if (fields.size() == 1 && fields[0].empty() && !any_quotes) continue;  // blank line
    return true;
  }
}

}  // namespace gradgate::dataset_detail
