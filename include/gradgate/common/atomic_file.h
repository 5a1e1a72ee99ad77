#pragma once
// Writing a file atomically: into a temp file next to the target
// (`<name>.tmp-<pid>-<n>`), renamed onto it only after the whole content is written, so a
// killed run never leaves half a file and a failed write leaves the target as it was.
// The one implementation for outputs, weights, checkpoints and manifests. No torch here.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace gradgate {

// Writes `bytes` to `path` (parent folders are created). Throws Error
// "cannot write <path>: <what> (<OS reason>)"; the temp file is removed on failure.
void write_file_atomic(const std::filesystem::path& path, const std::string& bytes);

// For writers that want a file name (torch::save, a torch serialize archive). Not for
// cv::imwrite, which picks the format from the extension and the temp name's is not
// .png: encode with cv::imencode and pass the bytes to write_file_atomic instead.
// Creates the parent folders, calls `writer(tmp)`, which must create and fully write `tmp`,
// then renames `tmp` onto `path`. When the writer throws or the rename fails, `tmp` is
// removed and the exception propagates (the rename failure as Error naming `path`); the
// target is untouched.
void write_file_atomic_with(const std::filesystem::path& path,
                            const std::function<void(const std::filesystem::path& tmp)>& writer);

// For streaming writers: `writer(out)` writes to a binary stream on the temp file; after it
// returns the stream is flushed and closed, and a stream error throws Error naming `path`
// (disk full); otherwise as write_file_atomic_with.
void write_stream_atomic(const std::filesystem::path& path,
                         const std::function<void(std::ostream& out)>& writer);

// The temp file name write_file_atomic* uses for `path`: unique per process and call.
std::filesystem::path atomic_temp_path(const std::filesystem::path& path);

}  // namespace gradgate
