#include "gradgate/common/regular_file.h"

#include <climits>
#include <system_error>

namespace gradgate {

namespace fs = std::filesystem;

std::string regular_file_problem(const fs::path& path) {
  std::error_code ec;
  // stat follows symlinks and never opens the file, so a FIFO cannot block here.
  const fs::file_status st = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    if (ec == std::errc::filename_too_long)
      return "path too long (" + std::to_string(path.native().size()) +
             " bytes; the system allows " + std::to_string(PATH_MAX - 1) +
             " per path and " + std::to_string(NAME_MAX) + " per name)";
    if (ec == std::errc::too_many_symbolic_link_levels) return "is a symlink loop";
    return "cannot be examined (" + ec.message() + ")";
  }
  switch (st.type()) {
    case fs::file_type::regular: return "";
    case fs::file_type::not_found:
      // A dangling symlink reads as "not found" too: say which.
      if (fs::is_symlink(fs::symlink_status(path, ec))) return "is a symlink to a missing file";
      return "not found";
    case fs::file_type::directory: return "is a folder, not a file";
    case fs::file_type::fifo: return "is a FIFO (named pipe), not a regular file";
    case fs::file_type::character:
    case fs::file_type::block: return "is a device, not a regular file";
    case fs::file_type::socket: return "is a socket, not a regular file";
    default: return "is not a regular file";
  }
}

}  // namespace gradgate
