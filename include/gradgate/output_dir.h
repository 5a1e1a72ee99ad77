#pragma once
// Owning an output folder for one run (ensemble-classify --out, ensemble-train --out). No torch.
//
// Two runs into one folder interleaved their rows and renamed each other's files, so a run
// first takes an exclusive flock(2) on <out>/.gradgate.lock, held until it ends (the kernel
// drops it when the process dies, so a killed run never leaves a stale lock). The second run
// fails at once, naming the folder and the first run's pid, before it writes anything.
//
// A rerun into a folder of an earlier classify run removes that run's outputs first
// (clear_previous_outputs), so no montage of an image that is no longer an input stays beside
// the new results.csv. docs/outputs.md, "Limits".
#include <filesystem>
#include <string>
#include <vector>

namespace gradgate {

class OutputLock {
 public:
  // Creates `dir` when needed and locks it. Throws Error "output folder <dir> is in use by
  // another gradgate run (pid N) ..." when another process holds it, Error naming the folder
  // when it cannot be created or the lock file not opened.
  explicit OutputLock(const std::filesystem::path& dir);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  static constexpr const char* kFileName = ".gradgate.lock";

 private:
  int fd_ = -1;
};

// Removes what an earlier ensemble-classify run wrote into `dir`, and only that: results.csv,
// results.jsonl, run.json, their .part files, the .png files in montage/ and in
// overlays/<stem>/, the .npy files in maps/<stem>/, then those folders when left empty. Done
// only when `dir` holds a run.json (it is a classify output folder); any other file, in those
// folders or beside them, is the user's and stays. Returns the number of files removed.
// The caller holds the folder's OutputLock.
std::size_t clear_previous_outputs(const std::filesystem::path& dir);

}  // namespace gradgate
