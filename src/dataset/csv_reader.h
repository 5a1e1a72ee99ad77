#pragma once
// A streaming RFC 4180 CSV reader: quoted fields may hold commas, doubled quotes and line
// breaks; CRLF or LF line ends; a UTF-8 byte-order mark is skipped; blank lines are skipped.
// Errors name the file and the line where the offending row starts.
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace gradgate::dataset_detail {

class CsvReader {
 public:
  // Throws DatasetError when the file cannot be opened.
  explicit CsvReader(const std::filesystem::path& file);

  // Reads the next row into `fields`; false at the end of the file.
  bool next(std::vector<std::string>& fields);
  // 1-based line on which the row last returned by next() starts.
  std::size_t line() const { return row_line_; }
  const std::filesystem::path& file() const { return file_; }

  // Throws DatasetError "<file>:<line>: <message>" for the current row.
  [[noreturn]] void fail(const std::string& message) const;

 private:
  std::filesystem::path file_;
  std::ifstream in_;
  std::streambuf* buf_;
  std::size_t line_ = 1;      // line of the next character
  std::size_t row_line_ = 0;
};

// Lower-cases ASCII.
std::string lower(std::string s);
// Strips spaces and tabs at both ends.
std::string trim(const std::string& s);

}  // namespace gradgate::dataset_detail
