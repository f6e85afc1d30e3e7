// Faults from outside the program: the process killed (SIGKILL) in the middle of
// writing a checkpoint, a full disk under every atomic writer, and a NaN in the
// inputs of training. Children are forked for the kill and for the file-size
// limit, so the test process itself is never harmed.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <regex>
#include <string>
#include <thread>

#include "timbre/core/random.h"
#include "timbre/data/batcher.h"
#include "timbre/data/npy.h"
#include "timbre/io/safetensors.h"
#include "timbre/nn/containers.h"
#include "timbre/nn/layers.h"
#include "timbre/optim/optimizer.h"
#include "timbre/train/checkpoint.h"
#include "timbre/train/fit.h"

using namespace timbre;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("timbre_test_faults_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Generation g of the checkpoint: 1 MiB of the value g, and g in the metadata, so a
// reader can tell a complete file of one generation from a torn mix.
io::TensorMap generation_tensors(int generation) {
  return {{"weights", Tensor::full({512, 512}, generation, DType::f32)}};
}

void check_whole_generation(const io::SafetensorsFile& file, const std::string& source) {
  INFO(source);
  REQUIRE(file.metadata.count("generation") == 1);
  const int generation = std::stoi(file.metadata.at("generation"));
  const std::vector<float> values = file.tensors.at("weights").to_vector<float>();
  REQUIRE(values.size() == 512u * 512u);
  CHECK(std::all_of(values.begin(), values.end(), [&](float v) { return v == static_cast<float>(generation); }));
}

// Files in `dir` other than `keep`: what a failed or killed writer left behind.
std::vector<std::string> other_files(const fs::path& dir, const std::vector<std::string>& keep) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (std::find(keep.begin(), keep.end(), name) == keep.end()) out.push_back(name);
  }
  return out;
}

// Runs `body` in a forked child and returns its exit status (-signal when killed).
template <class F>
int in_child(F&& body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 100;
    try {
      code = body();
    } catch (...) {
      code = 101;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

}  // namespace

TEST_CASE("SIGKILL while checkpoints are written leaves the old or the new complete file", "[faults]") {
  const fs::path dir = fresh_dir("kill");
  const fs::path path = dir / "last.safetensors";
  // The tensors of every generation are made before forking: the child only encodes and writes.
  std::vector<io::TensorMap> generations;
  for (int g = 0; g < 4; ++g) generations.push_back(generation_tensors(g));
  io::save_safetensors(path, generations[0], {{"generation", "0"}});

  std::mt19937 rng(20261125);  // the kill moments: seeded, though the scheduler decides where they land
  std::uniform_int_distribution<int> delay_us(1000, 60000);
  int newer_seen = 0;
  for (int round = 0; round < 12; ++round) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (int n = 1;; ++n) {
        try {
          io::save_safetensors(path, generations[n % 4], {{"generation", std::to_string(n % 4)}});
        } catch (...) {
          ::_exit(1);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));  // still writing when killed, not failed on its own
    const io::SafetensorsFile file = io::load_safetensors(path);
    check_whole_generation(file, "round " + std::to_string(round));
    newer_seen += file.metadata.at("generation") != "0";
  }
  CHECK(newer_seen > 0);  // the child did replace the file, so the kills hit a live writer
  // A writer killed inside a write leaves its hidden temporary behind (nothing removes it later):
  // at least one must be there, or no kill tested a torn write. The target itself is never torn.
  const std::vector<std::string> leftovers = other_files(dir, {"last.safetensors"});
  CHECK(!leftovers.empty());
  for (const std::string& name : leftovers) CHECK(name.rfind(".last.safetensors.tmp.", 0) == 0);
  fs::remove_all(dir);
}

TEST_CASE("SIGKILL while a training checkpoint is written leaves a loadable checkpoint", "[faults]") {
  const fs::path dir = fresh_dir("kill_checkpoint");
  const fs::path path = dir / "last.safetensors";
  manual_seed(1);
  nn::Sequential model(nn::Flatten(), nn::Dense(256), nn::Dense(3));
  model.set_name("faults");
  model.build({32, 32, 1});
  optim::Adam adam(model.trainable_parameters(), 1e-3);
  train::CheckpointInfo info;
  info.model = "faults";
  info.class_names = {"a", "b", "c"};
  info.optimizer = "Adam";
  train::save_checkpoint(path, model, &adam, info);

  std::mt19937 rng(7);
  std::uniform_int_distribution<int> delay_us(1000, 40000);
  for (int round = 0; round < 6; ++round) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (int64_t epoch = 1;; ++epoch) {
        try {
          info.epoch = epoch;
          train::save_checkpoint(path, model, &adam, info);
        } catch (...) {
          ::_exit(1);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    const train::LoadedCheckpoint loaded = train::load_checkpoint(path);
    CHECK(loaded.info.model == "faults");
    nn::Sequential restored(nn::Flatten(), nn::Dense(256), nn::Dense(3));
    restored.set_name("faults");
    restored.build({32, 32, 1});
    CHECK_NOTHROW(train::restore_model(restored, loaded, path.string()));
  }
  fs::remove_all(dir);
}

TEST_CASE("a full disk gives a clear error and leaves no file at the destination", "[faults]") {
  const fs::path dir = fresh_dir("full");
  const fs::path tensors_path = dir / "weights.safetensors", npy_path = dir / "array.npy";
  const fs::path previous_path = dir / "previous.safetensors";
  io::save_safetensors(previous_path, generation_tensors(1), {{"generation", "1"}});
  // The child may write at most 64 KiB per file (RLIMIT_FSIZE; SIGXFSZ ignored, so write fails
  // with EFBIG as it would with ENOSPC); every writer below needs 1 MiB.
  const int status = in_child([&] {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{64 << 10, 64 << 10};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 90;
    const auto fails_clearly = [](auto&& write, const fs::path& target) {
      try {
        write();
      } catch (const Error& e) {
        const std::string message = e.what();
        return message.find(target.string()) != std::string::npos && message.find("write failed") != std::string::npos;
      }
      return false;
    };
    if (!fails_clearly([&] { io::save_safetensors(tensors_path, generation_tensors(2), {{"generation", "2"}}); },
                       tensors_path))
      return 2;
    if (!fails_clearly([&] { io::save_safetensors(previous_path, generation_tensors(2), {{"generation", "2"}}); },
                       previous_path))
      return 3;
    const data::NpyArray big = data::NpyArray::from_values<double>({1 << 17}, std::vector<double>(1 << 17, 1.0));
    if (!fails_clearly([&] { data::write_npy(npy_path.string(), big); }, npy_path)) return 4;
    return 0;
  });
  INFO("child exit status " << status << " (2-4: a writer did not fail with an error naming its file)");
  REQUIRE(status == 0);
  CHECK_FALSE(fs::exists(tensors_path));
  CHECK_FALSE(fs::exists(npy_path));
  check_whole_generation(io::load_safetensors(previous_path), previous_path.string());  // the old file is intact
  CHECK(other_files(dir, {"previous.safetensors"}).empty());                        // temporaries removed
  fs::remove_all(dir);
}

TEST_CASE("a NaN in the inputs is refused before training, naming its patch and song", "[faults]") {
  // 24 patches (4, 4, 1) of 3 classes; patch `poisoned` holds a NaN.
  constexpr int64_t n = 24, batch_size = 4, poisoned = 13;
  Generator g(11);
  data::PatchDataset train_set;
  std::vector<float> values;
  for (int64_t i = 0; i < n * 16; ++i) values.push_back(static_cast<float>(g.normal()));
  values[poisoned * 16 + 5] = std::nanf("");
  train_set.patches = Tensor::from<float>({n, 4, 4, 1}, values);
  for (int64_t i = 0; i < n; ++i) {
    train_set.labels.push_back(static_cast<int32_t>(i % 3));
    train_set.songs.push_back(static_cast<int32_t>(i));
    train_set.song_names.push_back("song" + std::to_string(i));
  }
  train_set.class_names = {"a", "b", "c"};
  data::PatchDataset val_set = train_set;
  val_set.patches = Tensor::zeros({n, 4, 4, 1});

  manual_seed(2);
  nn::Sequential model(nn::Flatten(), nn::Dense(3));
  model.set_name("nan");
  model.build({4, 4, 1});
  optim::SGD sgd(model.trainable_parameters(), 0.01, 0.0);
  train::FitOptions options;
  options.epochs = 1;
  options.batch_size = batch_size;
  options.seed = 9;
  options.progress = train::ProgressStyle::quiet;

  std::string message;
  try {
    train::fit(model, sgd, train_set, val_set, options);
  } catch (const Error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK_THAT(message, Catch::Contains("the training set holds NaN or infinite values in 1 patches (patch " +
                                      std::to_string(poisoned) + " of \"song" + std::to_string(poisoned) + "\")") &&
                         Catch::Contains("the input is damaged, not the training"));
  CHECK(sgd.iterations() == 0);  // no step was taken
}
