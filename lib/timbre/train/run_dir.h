// A training run's output directory, claimed for one process: it must be
// writable before any data is loaded, a second process is kept out by an
// exclusive lock (flock on <dir>/.timbre.lock, which names the holder's PID),
// and a new run never silently replaces or mixes with the files of another.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace timbre::train {

enum class RunStart {
  fresh,      // the directory must not hold a run yet
  resume,     // a run it holds is continued
  overwrite,  // a run it holds is removed first
};

class RunDirectory {
 public:
  // Creates `dir` when missing and claims it (the lock is held until destruction). Throws timbre::Error
  // naming `flag` (e.g. "--out") when the path is empty, not a creatable and writable directory, locked by
  // another process, or holds a run while `start` is fresh. Removes the temporary files a killed run left
  // beside its checkpoints (`removed_temporaries` lists them).
  RunDirectory(const std::filesystem::path& dir, RunStart start, const std::string& flag = "--out");

  const std::filesystem::path& path() const { return dir_; }
  const std::vector<std::string>& removed_temporaries() const { return removed_temporaries_; }

 private:
  // The open lock file; closing it releases the flock (also when the constructor throws after taking it).
  struct LockFile {
    int fd = -1;
    LockFile() = default;
    LockFile(const LockFile&) = delete;
    LockFile& operator=(const LockFile&) = delete;
    ~LockFile();
  };
  std::filesystem::path dir_;
  LockFile lock_;
  std::vector<std::string> removed_temporaries_;
};

// The files of a run in `dir` (checkpoints, history, plots, evaluation, folds and fold-N/ directories),
// relative to `dir`; empty when it holds none.
std::vector<std::string> run_files(const std::filesystem::path& dir);

}  // namespace timbre::train
