// TensorBoard logs: the event files a training writes are read back with timbre's own TFRecord reader
// (framing and masked CRC-32C checked) and protobuf decoder, tag by tag against the run's history.
// tools/tensorboard/check_events.py reads the same files with TensorBoard's EventAccumulator.
#include <unistd.h>

#include <bit>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>

#include "timbre/core/random.h"
#include "timbre/data/protowire.h"
#include "timbre/data/tfrecord.h"
#include "timbre/nn/containers.h"
#include "timbre/nn/layers.h"
#include "timbre/optim/optimizer.h"
#include "timbre/train/fit.h"
#include "timbre/train/tensorboard.h"

using namespace timbre;
namespace fs = std::filesystem;
namespace proto = data::proto;

namespace {

struct Events {
  std::string file_version;
  std::map<std::string, std::map<int64_t, float>> scalars;  // tag -> step -> value
};

// The one event file in `dir`, decoded.
Events read_events(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  REQUIRE(files.size() == 1);
  CHECK(files[0].filename().string().rfind("events.out.tfevents.", 0) == 0);
  const std::string bytes = data::read_whole_file(files[0].string());
  Events out;
  for (std::string_view record : data::split_records(bytes, files[0].string())) {
    proto::Reader event(record, "Event");
    proto::Field f;
    int64_t step = 0;
    std::string_view summary;
    while (event.next(f)) {
      if (f.number == 2) step = static_cast<int64_t>(f.value);
      if (f.number == 3) out.file_version = std::string(f.bytes);
      if (f.number == 5) summary = f.bytes;
    }
    proto::Reader values(summary, "Summary");
    while (values.next(f)) {
      proto::Reader value(f.bytes, "Summary.Value");
      proto::Field g;
      std::string tag;
      float simple = 0;
      while (value.next(g)) {
        if (g.number == 1) tag = std::string(g.bytes);
        if (g.number == 2) simple = std::bit_cast<float>(static_cast<uint32_t>(g.value));
      }
      out.scalars[tag][step] = simple;
    }
  }
  return out;
}

data::PatchDataset noise(int64_t n, uint64_t seed) {
  Generator g(seed);
  data::PatchDataset d;
  std::vector<float> v;
  for (int64_t i = 0; i < n * 16; ++i) v.push_back(static_cast<float>(g.normal()));
  d.patches = Tensor::from<float>({n, 4, 4, 1}, v);
  for (int64_t i = 0; i < n; ++i) {
    d.labels.push_back(static_cast<int32_t>(i % 2));
    d.songs.push_back(static_cast<int32_t>(i));
    d.song_names.push_back("song" + std::to_string(i));
  }
  d.class_names = {"a", "b"};
  return d;
}

}  // namespace

TEST_CASE("a TensorBoard logger writes Keras' epoch scalars in valid event files", "[train][tensorboard]") {
  const fs::path dir = fs::temp_directory_path() / ("timbre_test_tensorboard_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  manual_seed(1);
  nn::Sequential model(nn::Flatten(), nn::Dense(2));
  model.build({4, 4, 1});
  optim::SGD sgd(model.trainable_parameters(), 0.1, 0.0);
  train::FitOptions options;
  options.epochs = 3;
  options.batch_size = 8;
  options.progress = train::ProgressStyle::quiet;
  options.callbacks.push_back(train::tensorboard_logger(dir, /*update_freq=*/2));
  options.callbacks.push_back(train::tensorboard_logger(dir / "every_step", /*update_freq=*/1));
  const train::FitResult r = train::fit(model, sgd, noise(24, 2), noise(8, 3), options);

  const Events train_events = read_events(dir / "train"), validation_events = read_events(dir / "validation");
  CHECK(train_events.file_version == "brain.Event:2");
  CHECK(validation_events.file_version == "brain.Event:2");
  for (const train::EpochRecord& e : r.history) {
    INFO("epoch " << e.epoch);
    CHECK(train_events.scalars.at("epoch_loss").at(e.epoch) == static_cast<float>(e.loss));
    CHECK(train_events.scalars.at("epoch_accuracy").at(e.epoch) == static_cast<float>(e.accuracy));
    CHECK(train_events.scalars.at("epoch_learning_rate").at(e.epoch) == static_cast<float>(e.learning_rate));
    CHECK(validation_events.scalars.at("epoch_loss").at(e.epoch) == static_cast<float>(e.val_loss));
    CHECK(validation_events.scalars.at("epoch_accuracy").at(e.epoch) == static_cast<float>(e.val_accuracy));
    CHECK(validation_events.scalars.at("epoch_song_accuracy").at(e.epoch) == static_cast<float>(e.val_song_accuracy));
  }
  CHECK(train_events.scalars.at("epoch_loss").size() == 3);
  // 24 patches in batches of 8: steps 1-9, every second one logged (2, 4, 6, 8), or every one.
  const std::map<int64_t, float>& batch_loss = train_events.scalars.at("batch_loss");
  CHECK(batch_loss.size() == 4);
  CHECK(batch_loss.count(2) == 1);
  CHECK(batch_loss.count(8) == 1);
  CHECK(train_events.scalars.at("batch_accuracy").size() == 4);
  const std::map<int64_t, float> every = read_events(dir / "every_step" / "train").scalars.at("batch_loss");
  REQUIRE(every.size() == 9);
  for (int64_t epoch = 1; epoch <= 3; ++epoch) {  // equal batches: an epoch's loss is its batches' mean
    const double mean = (every.at(3 * epoch - 2) + every.at(3 * epoch - 1) + every.at(3 * epoch)) / 3.0;
    CHECK(mean == Approx(train_events.scalars.at("epoch_loss").at(epoch)).epsilon(1e-5));
  }
  CHECK_THROWS_WITH(train::tensorboard_logger(dir, -1), Catch::Contains("--tensorboard-update-freq"));
  fs::remove_all(dir);
}

TEST_CASE("a TensorBoard directory that cannot be created is an error naming it", "[train][tensorboard][bad-input]") {
  const fs::path file = fs::temp_directory_path() / ("timbre_test_tensorboard_file_" + std::to_string(::getpid()));
  { std::ofstream(file) << "x"; }
  CHECK_THROWS_WITH(train::EventFileWriter(file / "train"),
                    Catch::Contains("--tensorboard") && Catch::Contains("cannot create directory"));
  fs::remove(file);
}
