#include "timbre/train/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "timbre/core/error.h"

namespace timbre::train {

namespace fs = std::filesystem;

namespace {

// What fit() and the trainers write into a run directory.
const std::vector<std::string> run_file_names = {
    "last.safetensors", "best.safetensors", "history.csv",         "history.json", "accuracy.png",
    "loss.png",         "evaluation.json",  "confusion_matrix.png", "per_class.csv", "folds.json",
    "model.onnx"};

bool is_fold_directory(const fs::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  return entry.is_directory() && name.rfind("fold-", 0) == 0 && name.size() > 5 &&
         std::all_of(name.begin() + 5, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// `dir` and its fold-N/ directories: every place a run writes files.
std::vector<fs::path> run_places(const fs::path& dir) {
  std::vector<fs::path> places = {dir};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (is_fold_directory(entry)) places.push_back(entry.path());
  return places;
}

// write_file_atomically's temporaries: ".<name>.tmp.<pid>.<n>".
bool is_temporary(const std::string& name) { return name.size() > 1 && name[0] == '.' && name.find(".tmp.") != std::string::npos; }

std::string pid_in(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string pid = n > 0 ? std::string(text, static_cast<size_t>(n)) : "";
  pid.erase(std::remove(pid.begin(), pid.end(), '\n'), pid.end());
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

std::vector<std::string> run_files(const fs::path& dir) {
  std::vector<std::string> found;
  for (const fs::path& place : run_places(dir)) {
    const fs::path relative = place == dir ? fs::path() : place.filename();
    for (const std::string& name : run_file_names)
      if (fs::exists(place / name)) found.push_back((relative / name).string());
  }
  return found;
}

RunDirectory::RunDirectory(const fs::path& dir, RunStart start, const std::string& flag) : dir_(dir) {
  check(!dir.empty(), flag, "is empty; expected the directory that receives the run's checkpoints, history and plots");
  std::error_code ec;
  check(!fs::exists(dir, ec) || fs::is_directory(dir, ec), flag, "\"", dir.string(),
        "\" is a file; expected a directory for the run's files");
  fs::create_directories(dir, ec);
  check(!ec, flag, "cannot create directory \"", dir.string(), "\": ", ec.message());

  const fs::path lock_path = dir / ".timbre.lock";
  lock_.fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  check(lock_.fd >= 0, flag, "directory \"", dir.string(), "\" is not writable (cannot create ", lock_path.string(),
        ": ", std::strerror(errno), ")");
  if (::flock(lock_.fd, LOCK_EX | LOCK_NB) != 0) {
    const std::string holder = pid_in(lock_.fd);
    fail(flag + ": \"" + dir.string() + "\" is in use by another training run (PID " + holder +
         "); wait for it to finish, or give another " + flag);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_.fd, 0) != 0 || ::pwrite(lock_.fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    fail(flag + ": directory \"" + dir.string() + "\" is not writable (cannot write " + lock_path.string() + ": " +
         std::strerror(errno) + ")");

  // Under the lock nobody else writes here: any temporary is a killed writer's.
  for (const fs::path& place : run_places(dir))
    for (const auto& entry : fs::directory_iterator(place, ec))
      if (entry.is_regular_file() && is_temporary(entry.path().filename().string()) && fs::remove(entry.path(), ec))
        removed_temporaries_.push_back(entry.path().string());

  const std::vector<std::string> existing = run_files(dir);
  std::string listed;
  for (size_t i = 0; i < existing.size() && i < 4; ++i) listed += (i ? ", " : "") + existing[i];
  if (existing.size() > 4) listed += ", ...";
  if (start == RunStart::fresh)
    check(existing.empty(), flag, "\"", dir.string(), "\" holds a run already (", listed,
          "); --resume continues it, --overwrite replaces it, or give another ", flag);
  if (start == RunStart::overwrite)
    for (const std::string& name : existing) {
      fs::remove(dir / name, ec);
      check(!ec, flag, "cannot remove \"", (dir / name).string(), "\" of the run being replaced: ", ec.message());
    }
}

RunDirectory::LockFile::~LockFile() {
  if (fd >= 0) ::close(fd);  // the file stays: unlinking it would race a newcomer that has opened it
}

}  // namespace timbre::train
