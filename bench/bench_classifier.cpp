// timbre::Classifier's latency: milliseconds per patch (about 1.86 s of 44.1 kHz stereo audio, resampled,
// log-mel, the model) for each seed model, untrained weights, on one thread (OMP_NUM_THREADS=1 for the
// figure in docs/performance.md).
#include <filesystem>
#include <unistd.h>

#include "bench_common.h"

using namespace timbre;

namespace {

std::string checkpoint_for(const std::string& model_name) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("timbre_bench_classifier_" + model_name + "_" + std::to_string(::getpid()) + ".safetensors"))
                               .string();
  manual_seed(1);
  nn::Sequential model = models::make_trainer_model(models::seed_model(model_name), 8, "none");
  train::CheckpointInfo info;
  info.model = model_name;
  info.class_names = {"a", "b", "c", "d", "e", "f", "g", "h"};
  info.normalize = "none";
  train::save_checkpoint(path, model, nullptr, info);
  return path;
}

void classify_patch(benchmark::State& state, const std::string& model_name) {
  const std::string path = checkpoint_for(model_name);
  const Classifier classifier(path);
  std::filesystem::remove(path);
  ClassifierStream window(classifier, 44100, 2);
  const Tensor audio = bench::uniform({static_cast<int64_t>(window.window_frames()) * 2}, 3, -0.5, 0.5);
  for (auto _ : state) {
    const Classification c = classifier.classify(audio.data<float>(), window.window_frames(), 44100, 2);
    benchmark::DoNotOptimize(c.probabilities.data());
  }
  state.counters["patches/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
  for (const char* name : {"parallel_cnn", "cnn_lstm", "cnn_bilstm"})
    benchmark::RegisterBenchmark((std::string("BM_classifier_patch/") + name).c_str(),
                                 [name](benchmark::State& s) { classify_patch(s, name); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
