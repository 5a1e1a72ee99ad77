#pragma once
// String helpers shared by the library and the tools. No torch here.
#include <string>
#include <vector>

namespace gradgate {

// items joined with `sep` ("" for no items).
std::string join(const std::vector<std::string>& items, const std::string& sep);
// "a,b,,c" -> {a, b, c}: split at commas, empty items dropped (no trimming).
std::vector<std::string> split_list(const std::string& comma_separated);

// Length of the valid UTF-8 sequence that starts at s[i] (1-4), or 0 when it is invalid
// (overlong, surrogate, beyond U+10FFFF, truncated).
size_t utf8_sequence_length(const std::string& s, size_t i);

// A file name as text that is valid UTF-8 and can be turned back into the same bytes: every
// byte that is not part of valid UTF-8, and every backslash, becomes `\xNN` (two lower-case
// hex digits). A name of valid UTF-8 without backslashes comes out unchanged. results.csv and
// results.jsonl write image paths this way (docs/outputs.md), so a non-UTF-8 name neither
// breaks a UTF-8 reader nor is lost.
std::string escape_path_bytes(const std::string& bytes);
// The inverse: each `\xNN` becomes the byte 0xNN; other text is copied.
std::string unescape_path_bytes(const std::string& text);
// Free text (an error message) as valid UTF-8: invalid bytes become `\xNN`, the rest is kept.
std::string utf8_or_escaped(const std::string& text);

}  // namespace gradgate
