// Keras' callbacks (lib/timbre/train/callbacks.h): EarlyStopping and
// ReduceLROnPlateau stepped through sequences worked out by hand from Keras'
// rules, the schedules' values, the replay after a resume, and fit() calling them.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <sstream>

#include "timbre/core/random.h"
#include "timbre/nn/containers.h"
#include "timbre/nn/layers.h"
#include "timbre/train/callbacks.h"
#include "timbre/train/checkpoint.h"
#include "timbre/train/fit.h"

using namespace timbre;
namespace fs = std::filesystem;

namespace {

nn::Sequential dense_model() {
  nn::Sequential m(nn::Flatten(), nn::Dense(3));
  m.build({2, 2, 1});
  return m;
}

// A model, its optimizer and a control over both, logging to a string.
struct Rig {
  nn::Sequential model = dense_model();
  optim::SGD sgd{model.trainable_parameters(), 0.1};
  std::ostringstream log;
  train::TrainingControl control{model, sgd, log};
};

train::EpochRecord record(int64_t epoch, double val_loss, double val_accuracy = 0) {
  train::EpochRecord r;
  r.epoch = epoch;
  r.val_loss = val_loss;
  r.val_accuracy = val_accuracy;
  return r;
}

// Feeds `values` as val_loss; the 1-based epoch at which `callback` asked to stop, 0 if never.
int64_t stop_epoch(train::Callback& callback, Rig& rig, const std::vector<double>& values) {
  callback.on_train_begin({}, rig.control);
  for (size_t e = 0; e < values.size(); ++e) {
    callback.on_epoch_end(record(static_cast<int64_t>(e + 1), values[e]), rig.control);
    if (rig.control.stop) return static_cast<int64_t>(e + 1);
  }
  return 0;
}

// Small patches of three classes, one song per patch.
data::PatchDataset noise_set(int64_t n, uint64_t seed) {
  Generator g(seed);
  data::PatchDataset ds;
  std::vector<float> values;
  for (int64_t i = 0; i < n; ++i) {
    const auto label = static_cast<int32_t>(i % 3);
    for (int k = 0; k < 4; ++k) values.push_back(static_cast<float>(g.normal(0, 1) + (k == label ? 2 : 0)));
    ds.labels.push_back(label);
    ds.songs.push_back(static_cast<int32_t>(i));
    ds.song_names.push_back("s" + std::to_string(i));
  }
  ds.patches = Tensor::from<float>({n, 2, 2, 1}, values);
  ds.class_names = {"a", "b", "c"};
  return ds;
}

train::FitOptions fit_options(int64_t epochs, const fs::path& out = {}) {
  train::FitOptions o;
  o.epochs = epochs;
  o.batch_size = 8;
  o.out_dir = out;
  o.model_name = "dense";
  o.model_title = "dense";
  o.optimizer_name = "SGD";
  o.progress = train::ProgressStyle::quiet;
  return o;
}

}  // namespace

TEST_CASE("EarlyStopping stops after `patience` epochs without an improvement of more than min_delta",
          "[callbacks][early-stopping]") {
  Rig rig;
  train::EarlyStoppingOptions o;
  o.patience = 2;
  auto patient = train::early_stopping(o);
  // Best 0.9 at epoch 2; epochs 3 and 4 do not improve: the second of them stops.
  CHECK(stop_epoch(*patient, rig, {1.0, 0.9, 0.95, 0.91, 0.8}) == 4);
  rig.control.stop = false;
  CHECK(stop_epoch(*patient, rig, {1.0, 0.9, 0.85, 0.8}) == 0);  // on_train_begin reset the counters

  rig.control.stop = false;
  o.patience = 0;
  o.min_delta = 0.05;
  auto strict = train::early_stopping(o);
  CHECK(stop_epoch(*strict, rig, {1.0, 0.96, 0.8}) == 2);  // 0.96 is not 0.05 below 1.0

  rig.control.stop = false;
  train::EarlyStoppingOptions up;
  up.monitor = "val_accuracy";  // mode auto: accuracies improve upwards
  up.patience = 1;
  auto accuracy = train::early_stopping(up);
  accuracy->on_train_begin({}, rig.control);
  accuracy->on_epoch_end(record(1, 0, 0.5), rig.control);
  accuracy->on_epoch_end(record(2, 0, 0.6), rig.control);
  CHECK_FALSE(rig.control.stop);
  accuracy->on_epoch_end(record(3, 0, 0.55), rig.control);
  CHECK(rig.control.stop);
  accuracy->on_train_end(rig.control);
  CHECK(rig.log.str().find("epoch 3: early stopping") != std::string::npos);
}

TEST_CASE("EarlyStopping's restore_best_weights ends with the best epoch's weights", "[callbacks][early-stopping]") {
  Rig rig;
  train::EarlyStoppingOptions o;
  o.patience = 5;
  o.restore_best_weights = true;
  auto callback = train::early_stopping(o);
  callback->on_train_begin({}, rig.control);
  std::vector<float> best;
  const std::vector<double> losses = {1.0, 0.5, 0.7, 0.6};
  for (size_t e = 0; e < losses.size(); ++e) {
    for (const nn::Variable& v : rig.model.variables())  // weights that name their epoch
      v.value.copy_from(Tensor::full(v.value.shape(), static_cast<double>(e + 1), v.value.dtype()));
    if (e == 1) best = rig.model.variables().front().value.to_vector<float>();
    callback->on_epoch_end(record(static_cast<int64_t>(e + 1), losses[e]), rig.control);
  }
  CHECK_FALSE(rig.control.stop);
  callback->on_train_end(rig.control);
  CHECK(rig.control.weights_changed);
  for (const nn::Variable& v : rig.model.variables()) CHECK(v.value.to_vector<float>() == std::vector<float>(v.value.numel(), 2.0f));
  CHECK(rig.log.str().find("best epoch: 2") != std::string::npos);
}

TEST_CASE("ReduceLROnPlateau: patience, factor, cooldown and min_lr as in Keras", "[callbacks][plateau]") {
  train::ReduceLROnPlateauOptions o;
  o.patience = 2;
  o.factor = 0.5;
  o.cooldown = 1;
  o.min_lr = 0.02;
  // A flat loss from 0.1: epoch 1 sets the best; epochs 2-3 wait and reduce (0.05, cooldown 1); epoch 4 cools
  // down and waits once; epoch 5 reduces (0.025); epoch 6 cools down; epoch 7 reduces to min_lr; then no more.
  const std::vector<double> expected = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02};
  Rig rig;
  auto callback = train::reduce_lr_on_plateau(o);
  callback->on_train_begin({}, rig.control);
  train::History history;
  for (size_t e = 0; e < expected.size(); ++e) {
    history.push_back(record(static_cast<int64_t>(e + 1), 1.0));
    callback->on_epoch_end(history.back(), rig.control);
    INFO("epoch " << e + 1);
    CHECK(rig.sgd.learning_rate() == Approx(expected[e]));
  }
  CHECK(rig.log.str().find("epoch 3: ReduceLROnPlateau reducing the learning rate to 0.05") != std::string::npos);

  // A resumed run replays the epochs it has and lands on the same rate and counters, silently.
  Rig resumed;
  auto again = train::reduce_lr_on_plateau(o);
  again->on_train_begin(train::History(history.begin(), history.begin() + 5), resumed.control);
  CHECK(resumed.sgd.learning_rate() == Approx(0.025));
  CHECK(resumed.log.str().empty());
  again->on_epoch_end(history[5], resumed.control);
  again->on_epoch_end(history[6], resumed.control);
  CHECK(resumed.sgd.learning_rate() == Approx(0.02));

  // An improvement by more than min_delta resets the wait.
  Rig improving;
  o.cooldown = 0;
  auto reset = train::reduce_lr_on_plateau(o);
  reset->on_train_begin({}, improving.control);
  for (double loss : {1.0, 1.0, 0.5, 0.5}) reset->on_epoch_end(record(1, loss), improving.control);
  CHECK(improving.sgd.learning_rate() == Approx(0.1));
}

TEST_CASE("cosine and step schedules", "[callbacks][schedule]") {
  const train::Schedule cosine = train::cosine_schedule(0.1, 10, 2);
  CHECK(cosine(0, 0) == Approx(0.05));  // warm-up 1/2, 2/2
  CHECK(cosine(1, 0) == Approx(0.1));
  CHECK(cosine(2, 0) == Approx(0.1));
  CHECK(cosine(3, 0) == Approx(0.1 * 0.5 * (1 + std::cos(std::numbers::pi / 8))));
  CHECK(cosine(9, 0) == Approx(0.1 * 0.5 * (1 + std::cos(std::numbers::pi * 7 / 8))));
  CHECK(cosine(9, 0) > 0);  // the last epoch still learns
  CHECK(train::cosine_schedule(1, 4, 0, 0.5)(2, 0) == Approx(0.5 + 0.5 * 0.5 * (1 + std::cos(std::numbers::pi / 2))));
  const train::Schedule step = train::step_schedule(0.1, 3, 0.5);
  CHECK(step(2, 0) == Approx(0.1));
  CHECK(step(3, 0) == Approx(0.05));
  CHECK(step(7, 0) == Approx(0.025));
  CHECK_THROWS_WITH(train::cosine_schedule(0.1, 5, 5), Catch::Contains("warm-up < epochs"));
  CHECK_THROWS_WITH(train::step_schedule(0.1, 0, 0.5), Catch::Contains("every >= 1"));
}

TEST_CASE("callbacks refuse unknown monitors and modes by name", "[callbacks][bad-input]") {
  train::EarlyStoppingOptions o;
  o.monitor = "val_acc";
  CHECK_THROWS_WITH(train::early_stopping(o), Catch::Contains("unknown quantity \"val_acc\"") &&
                                                  Catch::Contains("val_accuracy"));
  o.monitor = "loss";
  o.mode = "up";
  CHECK_THROWS_WITH(train::early_stopping(o), Catch::Contains("expected auto, min or max"));
  train::ReduceLROnPlateauOptions p;
  p.factor = 1.5;
  CHECK_THROWS_WITH(train::reduce_lr_on_plateau(p), Catch::Contains("factor must lie in (0, 1)"));
  CHECK(train::improves_upwards("val_song_accuracy", "auto"));
  CHECK_FALSE(train::improves_upwards("val_loss", "auto"));
  CHECK(train::improves_upwards("val_loss", "max"));
}

TEST_CASE("fit calls the callbacks: the schedule's rate is in the history, EarlyStopping ends the run",
          "[callbacks][train]") {
  const data::PatchDataset train_set = noise_set(48, 1), val_set = noise_set(12, 2);
  manual_seed(4);
  nn::Sequential model = dense_model();
  optim::SGD sgd(model.trainable_parameters(), 0.1);
  train::FitOptions options = fit_options(4);
  options.callbacks.push_back(train::learning_rate_scheduler(train::step_schedule(0.1, 2, 0.5)));
  const train::FitResult r = train::fit(model, sgd, train_set, val_set, options);
  REQUIRE(r.history.size() == 4);
  CHECK(r.history[0].learning_rate == Approx(0.1));
  CHECK(r.history[1].learning_rate == Approx(0.1));
  CHECK(r.history[2].learning_rate == Approx(0.05));
  CHECK(r.history[3].learning_rate == Approx(0.05));

  // The rate never improves: patience 0 stops after the second epoch.
  train::EarlyStoppingOptions o;
  o.monitor = "learning_rate";
  o.patience = 0;
  train::FitOptions stopping = fit_options(6);
  stopping.callbacks.push_back(train::early_stopping(o));
  CHECK(train::fit(model, sgd, train_set, val_set, stopping).history.size() == 2);
}

TEST_CASE("fit with restore_best_weights returns and evaluates the best epoch's weights", "[callbacks][train]") {
  const fs::path out = fs::temp_directory_path() / "timbre_test_callbacks_restore";
  fs::remove_all(out);
  const data::PatchDataset train_set = noise_set(48, 3), val_set = noise_set(30, 4);
  manual_seed(6);
  nn::Sequential model = dense_model();
  optim::SGD sgd(model.trainable_parameters(), 0.3, 0.9);
  train::EarlyStoppingOptions o;
  o.monitor = "val_accuracy";  // the rule best.safetensors is kept by
  o.patience = 100;
  o.restore_best_weights = true;
  train::FitOptions options = fit_options(6, out);
  options.callbacks.push_back(train::early_stopping(o));
  const train::FitResult r = train::fit(model, sgd, train_set, val_set, options);
  const train::LoadedCheckpoint best = train::load_checkpoint(out / "best.safetensors");
  CHECK(best.info.epoch == r.best_epoch);
  for (const nn::Variable& v : model.variables()) {
    INFO(v.name);
    CHECK(v.value.to_vector<float>() == best.file.tensors.at(v.name).to_vector<float>());
  }
  CHECK(r.validation.accuracy == Approx(r.history[static_cast<size_t>(r.best_epoch - 1)].val_accuracy));
  fs::remove_all(out);
}
