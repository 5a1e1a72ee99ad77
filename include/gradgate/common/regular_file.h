#pragma once
// The one check before gradgate opens a file a user named (an image, a mask, a CSV, a
// weights file): it must be a regular file once symlinks are resolved. A FIFO would block
// the run on open, /dev/zero would be read forever, a folder reads as nothing; each gets a
// reason instead. No torch here.
#include <filesystem>
#include <string>

namespace gradgate {

// Empty when `path` names a regular file (after symlinks); otherwise why not, as a phrase
// to follow the path in a message: "not found", "is a folder", "is a FIFO (named pipe), not
// a regular file", "path too long (5000 bytes; the system allows 4095)", ...
std::string regular_file_problem(const std::filesystem::path& path);

}  // namespace gradgate
