#pragma once
// One name table per setting enum: the single place a value's name is written. to_string and
// from_string (case-insensitive, with an error that lists the valid names) both read it, and
// config.h's *_names() lists are derived from it. No torch, no OpenCV.
//
//   inline const EnumNames<VoteRule>& vote_rule_names() {
//     static const EnumNames<VoteRule> t("vote rule", {{VoteRule::Soft, "soft"}, ...});
//     return t;
//   }
//
// A value may have several names (aliases): its first entry is its canonical name (what
// to_string gives and names() lists); later entries are only accepted by from_string.
#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "gradgate/error.h"

namespace gradgate {

template <typename E>
class EnumNames {
 public:
  struct Entry {
    E value;
    const char* name;
  };

  // `what` names the setting in errors ("vote rule"). Entries must be non-empty.
  EnumNames(std::string what, std::initializer_list<Entry> entries)
      : what_(std::move(what)), entries_(entries) {
    for (const auto& e : entries_) {
      const bool seen = std::any_of(canonical_.begin(), canonical_.end(),
                                    [&](const Entry& c) { return c.value == e.value; });
      if (!seen) canonical_.push_back(e);
    }
  }

  const std::string& what() const { return what_; }

  // The canonical name of `value`; "?" for a value missing from the table.
  const char* to_string(E value) const {
    for (const auto& e : canonical_)
      if (e.value == value) return e.name;
    return "?";
  }

  // Case-insensitive; any name of a value (aliases too). Throws ConfigError
  // "unknown <what> '<name>'; valid: a, b, c" listing the canonical names.
  E from_string(const std::string& name) const {
    const std::string key = lower(name);
    for (const auto& e : entries_)
      if (key == lower(e.name)) return e.value;
    throw ConfigError("unknown " + what_ + " '" + name + "'; valid: " + joined(", "));
  }

  // True when from_string(name) would succeed.
  bool contains(const std::string& name) const {
    const std::string key = lower(name);
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const Entry& e) { return key == lower(e.name); });
  }

  // Canonical names in table order (the first is the default where a default exists).
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : canonical_) out.emplace_back(e.name);
    return out;
  }

  // The canonical names joined by `sep` ("soft | hard | weighted" for help texts).
  std::string joined(const std::string& sep) const {
    std::string s;
    for (size_t i = 0; i < canonical_.size(); ++i) s += (i ? sep : "") + std::string(canonical_[i].name);
    return s;
  }

 private:
  static std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  }

  std::string what_;
  std::vector<Entry> entries_;
  std::vector<Entry> canonical_;
};

}  // namespace gradgate
