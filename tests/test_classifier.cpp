// timbre::Classifier, the embeddable API: it agrees with predict_file on the same audio, is safe to call
// from many threads at once, streams patch by patch, and refuses what it cannot use.
#include <catch2/catch.hpp>
#include <cmath>
#include <thread>

#include "data_test_support.h"
#include "timbre/core/random.h"
#include "timbre/models/seed_models.h"
#include "timbre/nn/containers.h"
#include "timbre/train/checkpoint.h"
#include "timbre/train/classifier.h"
#include "timbre/train/predict.h"

using namespace timbre;
using timbre::testing::ScratchDir;

namespace {

// An untrained P1.1 for three genres, saved as a trainer's checkpoint.
std::string write_checkpoint(const ScratchDir& dir) {
  manual_seed(4);
  nn::Sequential model = models::make_trainer_model(models::seed_model("parallel_cnn"), 3, "none");
  train::CheckpointInfo info;
  info.model = "parallel_cnn";
  info.class_names = {"ambient", "metal", "techno"};
  info.normalize = "none";
  const std::string path = (dir.path() / "model.safetensors").string();
  train::save_checkpoint(path, model, nullptr, info);
  return path;
}

// `seconds` of a two-tone signal, `channels` interleaved (the channels differ).
std::vector<float> music(double seconds, int rate, int channels) {
  std::vector<float> out;
  for (int64_t i = 0; i < static_cast<int64_t>(seconds * rate); ++i)
    for (int c = 0; c < channels; ++c)
      out.push_back(static_cast<float>(0.3 * std::sin(2 * M_PI * (220.0 + 110 * c) * i / rate) +
                                       0.2 * std::sin(2 * M_PI * 1375.0 * i / rate) * std::sin(i / 3000.0)));
  return out;
}

}  // namespace

TEST_CASE("Classifier::classify agrees with predict_file on the same audio", "[classifier]") {
  ScratchDir dir("classifier-agree");
  const std::string path = write_checkpoint(dir);
  const Classifier classifier(path);
  CHECK(classifier.genres() == std::vector<std::string>{"ambient", "metal", "techno"});
  const std::vector<float> mono = music(7.0, 22050, 1);
  const Classification c = classifier.classify(mono.data(), mono.size(), 22050, 1);
  REQUIRE(c.patches.size() == 3);  // 7 s: 302 frames, three whole patches of 80
  double sum = 0;
  for (float p : c.probabilities) sum += p;
  CHECK(sum == Approx(1.0).epsilon(1e-5));

  timbre::testing::write_audio((dir.path() / "clip.wav").string(), mono, 22050, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  const train::LoadedCheckpoint checkpoint = train::load_checkpoint(path);
  nn::Sequential model = models::make_trainer_model(models::seed_model("parallel_cnn"), 3, "none");
  train::restore_model(model, checkpoint, path);
  const train::FilePrediction expected = train::predict_file(model, (dir.path() / "clip.wav").string());
  REQUIRE(expected.patches == 3);
  for (size_t g = 0; g < 3; ++g) CHECK(c.probabilities[g] == Approx(expected.probabilities[g]).epsilon(1e-6));
}

TEST_CASE("Classifier::classify may be called from several threads at once", "[classifier]") {
  ScratchDir dir("classifier-threads");
  const Classifier classifier(write_checkpoint(dir));
  const std::vector<float> stereo = music(4.0, 44100, 2);
  const Classification serial = classifier.classify(stereo.data(), stereo.size() / 2, 44100, 2);
  std::vector<Classification> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t)
    threads.emplace_back([&, t] { results[t] = classifier.classify(stereo.data(), stereo.size() / 2, 44100, 2); });
  for (std::thread& t : threads) t.join();
  for (const Classification& r : results) {
    CHECK(r.probabilities == serial.probabilities);
    CHECK(r.patches == serial.patches);
  }
}

TEST_CASE("ClassifierStream emits one prediction per patch of audio, equal to classifying that window",
          "[classifier]") {
  ScratchDir dir("classifier-stream");
  const Classifier classifier(write_checkpoint(dir));
  const std::vector<float> stereo = music(6.0, 44100, 2);
  ClassifierStream stream(classifier, 44100, 2);
  const size_t window = stream.window_frames();
  CHECK(window == static_cast<size_t>(std::ceil(79 * 512 / 22050.0 * 44100)) + 1);
  std::vector<Classification> emitted;
  for (size_t start = 0; start < stereo.size() / 2; start += 1000) {  // chunks of 1000 frames
    const size_t frames = std::min<size_t>(1000, stereo.size() / 2 - start);
    for (Classification& c : stream.push(stereo.data() + 2 * start, frames)) emitted.push_back(std::move(c));
  }
  REQUIRE(emitted.size() == stereo.size() / 2 / window);  // 6 s: 3 windows of about 1.84 s
  for (size_t w = 0; w < emitted.size(); ++w) {
    const Classification alone = classifier.classify(stereo.data() + 2 * w * window, window, 44100, 2);
    CHECK(emitted[w].patches.size() == 1);
    CHECK(emitted[w].probabilities == alone.probabilities);
  }
}

TEST_CASE("Classifier refuses what it cannot use, naming it", "[classifier][bad-input]") {
  ScratchDir dir("classifier-bad");
  CHECK_THROWS_WITH(Classifier((dir.path() / "missing.safetensors").string()), Catch::Contains("missing.safetensors"));
  const Classifier classifier(write_checkpoint(dir));
  const std::vector<float> mono = music(2.0, 22050, 1), silence(44100, 0.f);
  CHECK_THROWS_WITH(classifier.classify(mono.data(), 0, 22050, 1), Catch::Contains("no samples"));
  CHECK_THROWS_WITH(classifier.classify(mono.data(), mono.size(), 22050, 0), Catch::Contains("channels must be 1-64"));
  CHECK_THROWS_WITH(classifier.classify(mono.data(), mono.size(), 10, 1), Catch::Contains("sample rate"));
  CHECK_THROWS_WITH(classifier.classify(silence.data(), silence.size(), 22050, 1), Catch::Contains("silent"));
  std::vector<float> broken = mono;
  broken[100] = std::nanf("");
  CHECK_THROWS_WITH(classifier.classify(broken.data(), broken.size(), 22050, 1), Catch::Contains("NaN"));
  CHECK_THROWS_WITH(ClassifierStream(classifier, 44100, 0), Catch::Contains("channels must be 1-64"));
}
