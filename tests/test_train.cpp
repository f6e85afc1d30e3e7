// The fit loop: learns a tiny problem, writes history, plots, evaluation and
// checkpoints, resumes bit-identically, and stops on a non-finite loss.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "timbre/core/parallel.h"
#include "timbre/core/random.h"
#include "timbre/data/melspec.h"
#include "timbre/data/npy.h"
#include "timbre/data/synthetic.h"
#include "timbre/models/seed_models.h"
#include "timbre/nn/containers.h"
#include "timbre/nn/layers.h"
#include "timbre/train/checkpoint.h"
#include "timbre/train/cli.h"
#include "timbre/train/fit.h"
#include "timbre/train/plot.h"
#include "timbre/train/predict.h"
#include "timbre/train/stop_signal.h"

using namespace timbre;
namespace fs = std::filesystem;

namespace {

// Patches (8, 8, 1): class k lights rows 2k..2k+1 over Gaussian noise; songs of three patches of one class.
data::PatchDataset stripes(int64_t per_class, uint64_t seed, int64_t classes = 3) {
  Generator g(seed);
  data::PatchDataset ds;
  std::vector<float> values;
  for (int64_t i = 0; i < per_class * classes; ++i) {
    const int32_t label = static_cast<int32_t>(i / 3 % classes);
    for (int64_t r = 0; r < 8; ++r)
      for (int64_t c = 0; c < 8; ++c)
        values.push_back(static_cast<float>(g.normal(0, 0.6) + (r / 2 == label ? 1.0 : 0.0)));
    ds.labels.push_back(label);
    ds.songs.push_back(static_cast<int32_t>(i / 3));
  }
  ds.patches = Tensor::from<float>({per_class * classes, 8, 8, 1}, values);
  for (int64_t k = 0; k < classes; ++k) ds.class_names.push_back("genre" + std::to_string(k));
  for (int64_t s = 0; s < (per_class * classes + 2) / 3; ++s) ds.song_names.push_back("song" + std::to_string(s));
  ds.validate("stripes");
  return ds;
}

// A small model with every kind of state a checkpoint must carry: BatchNorm statistics, Dropout draws.
nn::Sequential tiny_model(int64_t classes = 3) {
  nn::Sequential m(nn::Conv2D(4, {3, 3}), nn::BatchNormalization(), nn::LeakyReLU(0.3), nn::MaxPooling2D(2),
                   nn::Flatten(), nn::Dense(16, nn::Activation::relu), nn::Dropout(0.3), nn::Dense(classes));
  m.set_name("tiny");
  m.build({8, 8, 1});
  return m;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("timbre_test_train_" + name);
  fs::remove_all(dir);
  return dir;
}

train::FitOptions quiet_options(int64_t epochs, const fs::path& out = {}) {
  train::FitOptions o;
  o.epochs = epochs;
  o.batch_size = 16;
  o.seed = 5;
  o.out_dir = out;
  o.model_name = "tiny";
  o.model_title = "tiny";
  o.optimizer_name = "SGD";
  o.progress = train::ProgressStyle::quiet;
  return o;
}

struct ThreadsGuard {
  int saved = num_threads();
  explicit ThreadsGuard(int n) { set_num_threads(n); }
  ~ThreadsGuard() { set_num_threads(saved); }
};

}  // namespace

TEST_CASE("fit learns a tiny problem", "[train]") {
  const data::PatchDataset train_set = stripes(40, 1), val_set = stripes(12, 2);
  manual_seed(3);
  nn::Sequential model = tiny_model();
  optim::SGD sgd(model.trainable_parameters(), 0.05, 0.9);
  std::ostringstream log;
  train::FitOptions options = quiet_options(8);
  options.progress = train::ProgressStyle::lines;
  options.log = &log;
  const train::FitResult r = train::fit(model, sgd, train_set, val_set, options);
  INFO(log.str());
  REQUIRE(r.history.size() == 8);
  CHECK(r.history.back().loss < 0.5 * r.history.front().loss);
  CHECK(r.history.back().accuracy > 0.9);
  CHECK(r.validation.accuracy > 0.9);
  CHECK(r.validation.songs == 12);
  CHECK(r.validation.song_accuracy > 0.9);
  CHECK(log.str().find("epoch 8/8") != std::string::npos);
  CHECK(log.str().find("val_song_acc") != std::string::npos);
}

TEST_CASE("fit writes history, plots, evaluation and checkpoints", "[train]") {
  const fs::path out = fresh_dir("files");
  const data::PatchDataset train_set = stripes(10, 1), val_set = stripes(6, 2);
  manual_seed(3);
  nn::Sequential model = tiny_model();
  optim::Adam adam(model.trainable_parameters(), 1e-2);
  train::fit(model, adam, train_set, val_set, quiet_options(3, out));
  for (const char* name : {"history.csv", "history.json", "accuracy.png", "loss.png", "confusion_matrix.png",
                           "evaluation.json", "per_class.csv", "last.safetensors", "best.safetensors"}) {
    INFO(name);
    CHECK(fs::is_regular_file(out / name));
  }
  for (const char* png : {"accuracy.png", "loss.png", "confusion_matrix.png"}) {
    std::ifstream in(out / png, std::ios::binary);
    char magic[8] = {};
    in.read(magic, 8);
    CHECK(std::string(magic + 1, 3) == "PNG");
  }
  std::ifstream csv(out / "history.csv");
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  CHECK(lines == 4);  // header + 3 epochs
  std::ifstream per_class(out / "per_class.csv");
  std::getline(per_class, line);
  CHECK(line == "class,support,predicted,precision,recall");
  std::getline(per_class, line);
  CHECK(line.rfind("genre0,6,", 0) == 0);

  const train::LoadedCheckpoint last = train::load_checkpoint(out / "last.safetensors");
  CHECK(last.info.epoch == 3);
  CHECK(last.info.model == "tiny");
  CHECK(last.info.class_names == train_set.class_names);
  CHECK(last.info.history.size() == 3);
  CHECK(last.file.tensors.contains("optimizer/m"));
  CHECK(last.file.tensors.contains("batch_normalization/moving_mean"));
  for (const nn::Variable& v : model.variables()) {
    INFO(v.name);
    CHECK(last.file.tensors.at(v.name).to_vector<float>() == v.value.to_vector<float>());
  }
  fs::remove_all(out);
}

TEST_CASE("two epochs equal one epoch, a stop, a resume and one more epoch", "[train][resume]") {
  ThreadsGuard one_thread(1);
  const data::PatchDataset train_set = stripes(12, 1), val_set = stripes(4, 2);
  // Also with the timbre recipe's pieces: augmentation, weight decay and a schedule over the 2 epochs.
  const bool recipe = GENERATE(false, true);
  INFO((recipe ? "with augmentation, weight decay and a cosine schedule" : "the plain loop"));
  auto run = [&](const fs::path& out, int64_t epochs, bool resume) {
    manual_seed(11);
    nn::Sequential model = tiny_model();
    optim::SGD sgd(model.trainable_parameters(), 0.05, 0.9);
    train::FitOptions options = quiet_options(epochs, out);
    options.resume = resume;
    if (recipe) {
      options.augmentation.random_crop = true;
      options.augmentation.time_masks = options.augmentation.freq_masks = 1;
      options.augmentation.time_mask_frames = options.augmentation.freq_mask_bands = 2;
      options.augmentation.gain_db = 2;
      options.augmentation.mixup_alpha = 0.4;
      options.augmentation.label_smoothing = 0.1;
      sgd.set_weight_decay(0.05);
      options.callbacks.push_back(train::learning_rate_scheduler(train::cosine_schedule(0.05, 2)));
    }
    train::FitResult r = train::fit(model, sgd, train_set, val_set, options);
    std::vector<std::vector<float>> values;
    for (const nn::Variable& v : model.variables()) values.push_back(v.value.to_vector<float>());
    return std::make_tuple(r, values, sgd.state().at("velocity").to_vector<float>());
  };
  const fs::path straight = fresh_dir("straight"), stopped = fresh_dir("stopped");
  const auto [r2, weights2, velocity2] = run(straight, 2, false);
  run(stopped, 1, false);
  const auto [resumed, weights_resumed, velocity_resumed] = run(stopped, 2, true);
  CHECK(resumed.resumed_from);
  REQUIRE(resumed.history.size() == 2);
  CHECK(weights_resumed == weights2);  // bit-identical, BatchNorm statistics included
  CHECK(velocity_resumed == velocity2);
  for (size_t e = 0; e < 2; ++e) {
    CHECK(resumed.history[e].loss == r2.history[e].loss);
    CHECK(resumed.history[e].val_loss == r2.history[e].val_loss);
  }
  // Dropout's draws continue too: the default generator is where the straight run left it.
  const std::string resumed_rng = default_generator().state();
  run(straight, 2, false);
  CHECK(default_generator().state() == resumed_rng);
  CHECK(train::load_checkpoint(stopped / "last.safetensors").info.default_rng ==
        train::load_checkpoint(straight / "last.safetensors").info.default_rng);
  fs::remove_all(straight);
  fs::remove_all(stopped);
}

namespace {
// Asks fit to stop, as a SIGINT would, when epoch `epoch` begins (so after its first batch).
struct StopAtEpoch : train::Callback {
  explicit StopAtEpoch(int64_t epoch) : epoch(epoch) {}
  void on_epoch_begin(int64_t e, train::TrainingControl&) override {
    if (e == epoch) train::request_stop(SIGINT);
  }
  int64_t epoch;
};
}  // namespace

TEST_CASE("a stop request ends fit after a batch, keeps the last epoch, and a resume repeats it exactly",
          "[train][resume][signals]") {
  ThreadsGuard one_thread(1);
  const data::PatchDataset train_set = stripes(12, 1), val_set = stripes(4, 2);
  auto run = [&](const fs::path& out, bool resume, int64_t stop_at) {
    manual_seed(11);
    nn::Sequential model = tiny_model();
    optim::SGD sgd(model.trainable_parameters(), 0.05, 0.9);
    train::FitOptions options = quiet_options(3, out);
    options.resume = resume;
    if (stop_at > 0) options.callbacks.push_back(std::make_shared<StopAtEpoch>(stop_at));
    return train::fit(model, sgd, train_set, val_set, options).history;
  };
  const fs::path straight = fresh_dir("unstopped"), stopped = fresh_dir("signalled");
  const train::History expected = run(straight, false, 0);
  try {
    run(stopped, false, 2);
    FAIL("fit was not interrupted");
  } catch (const train::Interrupted& e) {
    CHECK(e.exit_status() == 130);
    CHECK_THAT(e.what(), Catch::Contains("stopped by SIGINT after batch 1 of 3 of epoch 2") &&
                             Catch::Contains("(epoch 1)") && Catch::Contains("--resume continues from epoch 2"));
  }
  train::request_stop(0);
  CHECK(train::load_checkpoint(stopped / "last.safetensors").info.epoch == 1);
  const train::History resumed = run(stopped, true, 0);
  REQUIRE(resumed.size() == expected.size());
  for (size_t e = 0; e < expected.size(); ++e) {
    CHECK(resumed[e].loss == expected[e].loss);
    CHECK(resumed[e].val_loss == expected[e].val_loss);
  }
  fs::remove_all(straight);
  fs::remove_all(stopped);
}

TEST_CASE("resume refuses another run's checkpoint unless told to, and records the override", "[train][resume]") {
  const data::PatchDataset train_set = stripes(8, 1), val_set = stripes(4, 2);
  const fs::path out = fresh_dir("fingerprint");
  auto run = [&](int64_t epochs, const std::string& fingerprint, bool resume, bool anyway) {
    manual_seed(3);
    nn::Sequential model = tiny_model();
    optim::SGD sgd(model.trainable_parameters(), 0.05, 0.9);
    train::FitOptions options = quiet_options(epochs, out);
    options.fingerprint = fingerprint;
    options.resume = resume;
    options.resume_anyway = anyway;
    return train::fit(model, sgd, train_set, val_set, options);
  };
  run(1, R"({"seed":1,"data":"a"})", false, false);
  CHECK_THROWS_WITH(run(2, R"({"seed":2,"data":"a"})", true, false),
                    Catch::Contains("cannot resume") && Catch::Contains("belongs to another run (seed: 1 in the "
                                                                        "checkpoint, 2 now)") &&
                        Catch::Contains("--resume-anyway"));
  CHECK(run(2, R"({"seed":2,"data":"a"})", true, true).history.size() == 2);
  const train::CheckpointInfo info = train::load_checkpoint(out / "last.safetensors").info;
  CHECK(info.fingerprint == R"({"seed":2,"data":"a"})");
  CHECK_THAT(info.resume_overrides, Catch::Contains(R"("after_epoch":1)") && Catch::Contains("seed: 1 in the checkpoint"));
  std::ifstream history(out / "history.json");
  const std::string history_json((std::istreambuf_iterator<char>(history)), {});
  CHECK_THAT(history_json, Catch::Contains(R"("resume_overrides": [)") && Catch::Contains(R"("after_epoch": 1)"));
  CHECK(run(3, R"({"seed":2,"data":"a"})", true, false).history.size() == 3);  // the same run now
  fs::remove_all(out);
}

TEST_CASE("an improving epoch writes best, then last as a link to it", "[train]") {
  const fs::path out = fresh_dir("best_then_last");
  manual_seed(3);
  nn::Sequential model = tiny_model();
  optim::SGD sgd(model.trainable_parameters(), 0.05, 0.9);
  const train::FitResult r = train::fit(model, sgd, stripes(8, 1), stripes(4, 2), quiet_options(1, out));
  REQUIRE(r.best_epoch == 1);
  CHECK(fs::equivalent(out / "best.safetensors", out / "last.safetensors"));  // one file, two names
  fs::remove_all(out);
}

TEST_CASE("a non-finite loss stops training and keeps the last good checkpoint", "[train][bad-input]") {
  const fs::path out = fresh_dir("nonfinite");
  data::PatchDataset train_set = stripes(8, 1);
  const data::PatchDataset val_set = stripes(4, 2);
  {
    manual_seed(3);
    nn::Sequential model = tiny_model();
    optim::SGD sgd(model.trainable_parameters(), 0.05, 0.9);
    train::fit(model, sgd, train_set, val_set, quiet_options(1, out));
  }
  const std::vector<float> good = train::load_checkpoint(out / "last.safetensors").file.tensors.at("dense/kernel").to_vector<float>();
  // Resumed with a rate so large that the first step of epoch 2 overflows the weights: the loss diverges.
  manual_seed(3);
  nn::Sequential model = tiny_model();
  optim::SGD sgd(model.trainable_parameters(), 1e38, 0.9);
  train::FitOptions options = quiet_options(3, out);
  options.resume = true;
  CHECK_THROWS_WITH(train::fit(model, sgd, train_set, val_set, options),
                    Catch::Matches(".*(NaN|infinite) at epoch 2, batch 2.*") && Catch::Contains("last good checkpoint") &&
                        Catch::Contains("epoch 1") && Catch::Contains("lower learning rate"));
  const train::LoadedCheckpoint last = train::load_checkpoint(out / "last.safetensors");
  CHECK(last.info.epoch == 1);
  CHECK(last.file.tensors.at("dense/kernel").to_vector<float>() == good);
  fs::remove_all(out);
}

TEST_CASE("fit and checkpoints reject mismatched inputs", "[train][bad-input]") {
  const data::PatchDataset train_set = stripes(4, 1), val_set = stripes(2, 2);
  manual_seed(3);
  nn::Sequential model = tiny_model(4);  // 4 outputs, 3 classes
  optim::SGD sgd(model.trainable_parameters());
  CHECK_THROWS_WITH(train::fit(model, sgd, train_set, val_set, quiet_options(1)), Catch::Contains("3 classes"));
  nn::Sequential ok = tiny_model();
  optim::SGD sgd_ok(ok.trainable_parameters());
  train::FitOptions resume = quiet_options(1, fresh_dir("missing"));
  resume.resume = true;
  CHECK_THROWS_WITH(train::fit(ok, sgd_ok, train_set, val_set, resume), Catch::Contains("cannot resume"));

  const fs::path out = fresh_dir("mismatch");
  train::save_checkpoint(out / "c.safetensors", ok, &sgd_ok, {.model = "tiny"});
  const train::LoadedCheckpoint c = train::load_checkpoint(out / "c.safetensors");
  CHECK_THROWS_WITH(train::restore_model(model, c, "c"), Catch::Contains("dense_1/kernel\" has shape"));
  nn::Sequential other(nn::Conv2D(4, {3, 3}));  // the checkpoint's first layer only
  other.build({8, 8, 1});
  CHECK_THROWS_WITH(train::restore_model(other, c, "c"), Catch::Contains("that the model lacks"));
  io::save_safetensors(out / "plain.safetensors", {{"x", Tensor::zeros({1})}});
  CHECK_THROWS_WITH(train::load_checkpoint(out / "plain.safetensors"), Catch::Contains("not a timbre checkpoint"));
  fs::remove_all(out);
}

TEST_CASE("score_probabilities counts patches, songs, precision and recall", "[train][metrics]") {
  data::PatchDataset ds;
  ds.class_names = {"a", "b"};
  ds.song_names = {"s0", "s1"};
  ds.labels = {0, 0, 0, 1};
  ds.songs = {0, 0, 0, 1};
  ds.patches = Tensor::zeros({4, 1, 1, 1});
  // Song 0 (class a): patches say a, b, b, but the mean is a (0.9 + 0.4 + 0.4 = 1.7 vs 1.3).
  const std::vector<float> p = {0.9f, 0.1f, 0.4f, 0.6f, 0.4f, 0.6f, 0.2f, 0.8f};
  const train::Evaluation e = train::score_probabilities(p, ds, 0.5);
  CHECK(e.accuracy == Approx(0.5));
  CHECK(e.confusion == std::vector<std::vector<int64_t>>{{1, 2}, {0, 1}});
  CHECK(e.songs == 2);
  CHECK(e.song_accuracy == Approx(1.0));
  CHECK(e.classes[0].precision == Approx(1.0));
  CHECK(e.classes[0].recall == Approx(1.0 / 3));
  CHECK(e.classes[1].precision == Approx(1.0 / 3));
  CHECK(e.classes[1].recall == Approx(1.0));
  CHECK(train::format_class_report(e).find("song accuracy 1.000 (2 songs)") != std::string::npos);
}

TEST_CASE("trainer models put an adapted Normalization first; 'none' is the seed's model", "[train][normalization]") {
  const Tensor patches = Tensor::full({4, 80, 80, 1}, -30.0);
  for (const models::SeedModel& spec : models::seed_models()) {
    INFO(spec.name);
    nn::Sequential bare = models::make_trainer_model(spec, 8, "none");
    CHECK(bare.parameter_count(true) + bare.parameter_count(false) == spec.keras_parameters);
    nn::Sequential banded = models::make_trainer_model(spec, 8, "band", patches);
    CHECK(banded.parameter_count(true) == bare.parameter_count(true));
    CHECK(banded.parameter_count(false) == bare.parameter_count(false) + 80 + 80 + 1);  // mean, variance, count
    CHECK(banded.variables().front().name == "normalization/mean");
    CHECK(banded.variables().front().value.to_vector<float>()[0] == Approx(-30.0));
  }
  CHECK_THROWS_WITH(models::make_trainer_model(models::seed_model("parallel_cnn"), 8, "element"),
                    Catch::Contains("--normalize"));
}

TEST_CASE("P1.1 with the seed's SGD learns the synthetic set because the trainer normalizes by default",
          "[train][normalization][slow]") {
  const fs::path dir = fresh_dir("p11_normalized");
  const std::vector<std::string> args{"parallel_cnn", "--synthetic-songs", "8",     "--epochs", "3",
                                      "--threads",    "1",                 "--progress", "quiet", "--recipe",
                                      "seed",         "--out",             dir.string()};
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  REQUIRE(train::seed_trainer_main(models::seed_model("parallel_cnn"), static_cast<int>(argv.size()), argv.data()) == 0);
  const train::LoadedCheckpoint last = train::load_checkpoint(dir / "last.safetensors");
  CHECK(last.info.normalize == "band");
  // Chance is 1/8; unnormalized dB input makes this SGD diverge or stall near chance.
  const double accuracy = last.info.history.back().val_accuracy;
  INFO("validation accuracy after 3 epochs " << accuracy);
  CHECK(accuracy > 0.3);
  fs::remove_all(dir);
}

TEST_CASE("a trainer with --export-patches writes the patches and each song's fold instead of training", "[train][export]") {
  const fs::path dir = fresh_dir("export");
  const std::vector<std::string> args{"parallel_cnn", "--synthetic-songs", "3", "--genres", "metal,techno",
                                      "--folds", "3", "--export-patches", dir.string(), "--out", (dir / "run").string()};
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  REQUIRE(train::seed_trainer_main(models::seed_model("parallel_cnn"), static_cast<int>(argv.size()), argv.data()) == 0);
  CHECK_FALSE(fs::exists(dir / "run"));  // nothing trained
  const auto arrays = data::read_npz((dir / "patches.npz").string());
  const data::PatchDataset expected = data::make_synthetic_dataset(
      [] {
        data::SyntheticOptions o;
        o.songs_per_genre = 3;
        o.genres = {"metal", "techno"};
        return o;
      }(),
      data::FeatureOptions{});
  CHECK(arrays.at("patches").to_tensor().to_vector<float>() == expected.patches.to_vector<float>());
  CHECK(arrays.at("labels").to_int64() == std::vector<int64_t>(expected.labels.begin(), expected.labels.end()));
  const std::vector<int64_t> folds = arrays.at("song_fold").to_int64();
  REQUIRE(folds.size() == 6);
  for (int64_t k = 0; k < 3; ++k) CHECK(std::count(folds.begin(), folds.end(), k) == 2);  // one song per genre each
  std::ifstream names(dir / "names.json");
  const std::string text((std::istreambuf_iterator<char>(names)), std::istreambuf_iterator<char>());
  CHECK(text.find("fold 3 for validation") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("predict_file averages a file's patch probabilities", "[train][predict]") {
  const fs::path dir = fresh_dir("predict");
  data::SyntheticOptions songs;
  songs.songs_per_genre = 1;
  songs.genres = {"metal", "techno"};
  data::write_synthetic_gtzan(dir.string(), songs);
  const std::string file = (dir / "metal" / "metal.00000.wav").string();
  REQUIRE(fs::exists(file));

  manual_seed(2);
  nn::Sequential model(nn::Conv2D(2, {8, 8}), nn::MaxPooling2D(8), nn::Flatten(), nn::Dense(2));
  model.build({80, 80, 1});
  const Tensor patches = data::patches_from_file(file);
  REQUIRE(patches.dim(0) >= 1);
  const train::FilePrediction p = train::predict_file(model, file);
  CHECK(p.patches == patches.dim(0));
  REQUIRE(p.probabilities.size() == 2);
  CHECK(p.probabilities[0] + p.probabilities[1] == Approx(1.0).epsilon(1e-5));
  // The same as averaging predict_probabilities over the file's patches by hand.
  const std::vector<float> rows = train::predict_probabilities(model, patches, 128).to_vector<float>();
  double first = 0;
  for (int64_t i = 0; i < patches.dim(0); ++i) first += rows[static_cast<size_t>(2 * i)] / static_cast<double>(patches.dim(0));
  CHECK(p.probabilities[0] == Approx(first).epsilon(1e-6));
  CHECK_THROWS_AS(train::predict_file(model, (dir / "missing.wav").string()), Error);
  fs::remove_all(dir);
}

TEST_CASE("a trainer model's Normalization statistics travel with its checkpoint", "[train][normalization]") {
  const fs::path dir = fresh_dir("normalization_checkpoint");
  const models::SeedModel& spec = models::seed_model("parallel_cnn");
  const Tensor patches = Tensor::full({3, 80, 80, 1}, -12.5);
  nn::Sequential trained = models::make_trainer_model(spec, 8, "band", patches);
  train::CheckpointInfo info;
  info.model = spec.name;
  info.class_names = {"a", "b", "c", "d", "e", "f", "g", "h"};
  info.normalize = "band";
  train::save_checkpoint(dir / "n.safetensors", trained, nullptr, info);

  const train::LoadedCheckpoint loaded = train::load_checkpoint(dir / "n.safetensors");
  CHECK(loaded.info.normalize == "band");
  nn::Sequential restored = models::make_trainer_model(spec, 8, loaded.info.normalize);  // not adapted: mean 0
  CHECK(restored.variables().front().value.to_vector<float>()[0] == 0.f);
  train::restore_model(restored, loaded, "test");
  const auto a = trained.variables(), b = restored.variables();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].name);
    CHECK(a[i].name == b[i].name);
    CHECK(a[i].value.to_vector<float>() == b[i].value.to_vector<float>());
  }
  fs::remove_all(dir);
}

TEST_CASE("feature options travel with a checkpoint; mel_fmax only when set", "[train][features]") {
  data::FeatureOptions f;
  f.patch.patch_hop = 40;
  const std::string plain = train::features_to_json(f);
  CHECK(plain.find("mel_fmax") == std::string::npos);  // the fingerprint of runs from before the option
  CHECK(train::features_from_json(plain, "test").mel.fmax == 0);
  f.mel.fmax = 8000;
  const data::FeatureOptions back = train::features_from_json(train::features_to_json(f), "test");
  CHECK(back.mel.fmax == 8000);
  CHECK(back.patch.patch_hop == 40);
  CHECK_THROWS_WITH(train::features_from_json(R"({"patches_per_clip":0,"patch_hop":80,"short_clips":"pad",)"
                                              R"("min_clip_seconds":1,"mel_fmax":20000})",
                                              "ckpt"),
                    Catch::Matchers::Contains("ckpt") && Catch::Matchers::Contains("out of range"));
  // The bands follow fmax: a 9 kHz tone is in a band with the default, above every band at 8 kHz.
  const int rate = f.sample_rate;
  std::vector<float> tone(static_cast<size_t>(rate));
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = 0.5f * static_cast<float>(std::sin(2 * M_PI * 9000.0 * i / rate));
  const auto loudest_band = [&](const data::FeatureOptions& o) {
    const data::MelSpectrogram m = data::MelExtractor(rate, o.mel).compute(tone);
    float loudest = -1e9f;
    for (int64_t band = 0; band < m.n_mels; ++band)
      loudest = std::max(loudest, m.values[static_cast<size_t>(band * m.frames + m.frames / 2)]);
    return loudest;
  };
  CHECK(loudest_band(f) < loudest_band(data::FeatureOptions{}) - 40);
}
