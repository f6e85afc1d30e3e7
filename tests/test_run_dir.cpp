// Run directories: a run claims its --out before loading data, refuses another run's files unless told to
// resume or overwrite them, keeps a second process out with a lock naming the holder, and clears the
// temporaries of a killed writer.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "timbre/core/error.h"
#include "timbre/train/run_dir.h"

using namespace timbre;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("timbre_test_run_dir_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "x";
}

}  // namespace

TEST_CASE("a run directory must be given, be a directory and be creatable", "[run_dir][bad-input]") {
  CHECK_THROWS_WITH(train::RunDirectory("", train::RunStart::fresh), Catch::Contains("--out: is empty"));
  const fs::path dir = fresh_dir("file");
  touch(dir / "a-file");
  CHECK_THROWS_WITH(train::RunDirectory(dir / "a-file", train::RunStart::fresh),
                    Catch::Contains("a-file\" is a file; expected a directory"));
  CHECK_THROWS_WITH(train::RunDirectory(dir / "a-file" / "below", train::RunStart::fresh),
                    Catch::Contains("--out: cannot create directory"));
  fs::remove_all(dir);
}

TEST_CASE("a new run refuses a directory holding a run; --resume and --overwrite take it", "[run_dir]") {
  const fs::path dir = fresh_dir("existing");
  { train::RunDirectory empty(dir, train::RunStart::fresh); }  // an empty directory (its lock file aside) is free
  touch(dir / "last.safetensors");
  touch(dir / "history.csv");
  touch(dir / "fold-2" / "best.safetensors");
  touch(dir / "notes.txt");  // the user's own file: not part of a run
  CHECK(train::run_files(dir) == std::vector<std::string>{"last.safetensors", "history.csv", "fold-2/best.safetensors"});
  CHECK_THROWS_WITH(train::RunDirectory(dir, train::RunStart::fresh),
                    Catch::Contains("holds a run already (last.safetensors, history.csv, fold-2/best.safetensors)") &&
                        Catch::Contains("--resume continues it, --overwrite replaces it"));
  { train::RunDirectory resumed(dir, train::RunStart::resume); }
  CHECK(fs::exists(dir / "last.safetensors"));
  { train::RunDirectory replaced(dir, train::RunStart::overwrite); }
  CHECK(train::run_files(dir).empty());
  CHECK(fs::exists(dir / "notes.txt"));
  fs::remove_all(dir);
}

TEST_CASE("a second claim of a locked run directory names the holder's PID", "[run_dir]") {
  const fs::path dir = fresh_dir("locked");
  {
    train::RunDirectory first(dir, train::RunStart::fresh);
    // flock locks belong to an open file: a second claim conflicts even from this process.
    CHECK_THROWS_WITH(train::RunDirectory(dir, train::RunStart::overwrite),
                      Catch::Contains("is in use by another training run (PID " + std::to_string(::getpid()) + ")"));
  }
  CHECK_NOTHROW(train::RunDirectory(dir, train::RunStart::fresh));  // released with the first claim
  fs::remove_all(dir);
}

TEST_CASE("claiming a run directory removes the temporaries a killed writer left", "[run_dir]") {
  const fs::path dir = fresh_dir("temporaries");
  touch(dir / ".last.safetensors.tmp.4242.0");
  touch(dir / "fold-1" / ".history.csv.tmp.4242.3");
  touch(dir / ".hidden-but-mine");
  train::RunDirectory run(dir, train::RunStart::fresh);
  CHECK(run.removed_temporaries().size() == 2);
  CHECK_FALSE(fs::exists(dir / ".last.safetensors.tmp.4242.0"));
  CHECK_FALSE(fs::exists(dir / "fold-1" / ".history.csv.tmp.4242.3"));
  CHECK(fs::exists(dir / ".hidden-but-mine"));
  fs::remove_all(dir);
}
