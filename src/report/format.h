#pragma once
// Text encoding shared by the report writers: CSV fields, JSON strings and numbers.
#include <string>
#include <vector>

#include "gradgate/common/strings.h"
#include "gradgate/common/utc_time.h"

namespace gradgate::report_detail {

// RFC 4180: quoted (with "" for ") when the field holds , " CR LF or starts/ends with a space.
std::string csv_field(const std::string& s);
std::string csv_line(const std::vector<std::string>& fields);  // with a trailing "\n"

// A JSON string literal with quotes; control characters as \u00XX and invalid UTF-8 bytes
// replaced by U+FFFD, so every line parses.
std::string json_string(const std::string& s);
// Shortest round-trip-safe enough text (%.6g for display values, %.9g for shares): NaN and
// infinities never appear; the CSV gets "" and JSON gets null.
std::string number(double v, int digits = 6);       // "" when not finite
std::string json_number(double v, int digits = 6);  // "null" when not finite
inline const char* json_bool(bool b) { return b ? "true" : "false"; }
// A gate score for a figure, rounded DOWN to `decimals`: compared with a threshold of at most
// that many decimals it tells the same story as the exact value (a share of 0.4996 at tau 0.5
// shows 0.499 DROPPED, never 0.500 DROPPED). "nan" when not finite.
std::string floored(double v, int decimals);

// join (gradgate/common/strings.h) and iso_utc_now (gradgate/common/utc_time.h) live in the
// common layer; they are in namespace gradgate, which encloses this one.

}  // namespace gradgate::report_detail
