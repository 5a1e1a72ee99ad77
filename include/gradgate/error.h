#pragma once
// Errors that gradgate reports to its user. Every message names what went wrong and where
// (file, key, image, member), so a CLI can print e.what() and exit non-zero.
#include <stdexcept>
#include <string>

namespace gradgate {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad YAML: unknown key, wrong type, value out of range, missing referenced file.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// An image that cannot be read: missing, empty, corrupt, truncated, unsupported.
class ImageError : public Error {
 public:
  using Error::Error;
};

// A dataset/manifest/CSV that is malformed or references missing files.
class DatasetError : public Error {
 public:
  using Error::Error;
};

// Model construction or weight loading problems (unknown member, missing/unexpected keys).
class ModelError : public Error {
 public:
  using Error::Error;
};

}  // namespace gradgate
