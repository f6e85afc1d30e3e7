// Log-mel extraction throughput, as 30 s clips per second: the spectrogram of
// one clip in memory (one thread; FFTW's estimated plan, the default, and its
// measured one), and whole files to patches (decode, mono, resample, log-mel,
// as many 80-frame patches as fit) threaded over files with OpenMP,
// for 22050 Hz mono WAV (GTZAN's format) and 44.1 kHz stereo WAV (resampled).
//
// The clips are 16 synthetic songs written once to
// $TIMBRE_MELSPEC_CLIPS/{22050-mono,44100-stereo}/ (default: a folder in the
// system temp dir); tools/compare_melspec_speed.py times librosa on the same files.
#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "bench_common.h"
#include "timbre/data/audio.h"
#include "timbre/data/features.h"
#include "timbre/data/synthetic.h"

using namespace timbre;
using namespace timbre::data;
namespace fs = std::filesystem;

namespace {

constexpr double kClipSeconds = 30.0;
constexpr int kSongsPerGenre = 2;

fs::path clip_root() {
  const char* dir = std::getenv("TIMBRE_MELSPEC_CLIPS");
  return dir ? fs::path(dir) : fs::temp_directory_path() / "timbre-bench-melspec";
}

// The clips at `rate` with `channels` (the second channel at half level), written when missing.
std::vector<std::string> clip_files(int rate, int channels) {
  const fs::path dir = clip_root() / (std::to_string(rate) + (channels == 1 ? "-mono" : "-stereo"));
  SyntheticOptions o;
  o.songs_per_genre = kSongsPerGenre;
  o.clip_seconds = kClipSeconds;
  fs::create_directories(dir);
  std::vector<std::string> files;
  for (const std::string& genre : synthetic_genre_names())
    for (int s = 0; s < kSongsPerGenre; ++s) {
      const fs::path path = dir / (genre + "." + std::to_string(s) + ".wav");
      if (!fs::exists(path)) {
        Audio audio{{}, rate, channels};
        for (float v : synthesize_song(genre, s, o, rate))
          for (int c = 0; c < channels; ++c) audio.samples.push_back(c == 0 ? v : 0.5f * v);
        write_wav(path.string(), audio);
      }
      files.push_back(path.string());
    }
  return files;
}

void set_clips_per_second(benchmark::State& state, double clips) {
  state.counters["clips/s"] = benchmark::Counter(clips, benchmark::Counter::kIsIterationInvariantRate);
}

void log_mel_in_memory(benchmark::State& state, bool measure_fft) {
  SyntheticOptions o;
  o.clip_seconds = kClipSeconds;
  const std::vector<float> clip = synthesize_song("techno", 0, o);
  MelOptions options;
  options.measure_fft = measure_fft;
  const MelExtractor mel(22050, options);
  for (auto _ : state) benchmark::DoNotOptimize(mel.compute(clip).values.data());
  set_clips_per_second(state, 1);
}

void patches_from_files(benchmark::State& state, int rate, int channels) {
  const std::vector<std::string> files = clip_files(rate, channels);
  const auto threads = static_cast<int>(state.range(0));
  const FeatureExtractor extractor;
  const int previous = num_threads();
  set_num_threads(threads);
  const auto n = static_cast<int64_t>(files.size());
  for (auto _ : state) {
    std::vector<Tensor> out(files.size());
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < n; ++i) out[i] = extractor.from_file(files[i]);
    benchmark::DoNotOptimize(out.data());
  }
  set_num_threads(previous);
  set_clips_per_second(state, static_cast<double>(n));
}

const bool registered = [] {
  for (const bool measure : {false, true})
    benchmark::RegisterBenchmark(measure ? "BM_logmel_30s_clip_in_memory/fftw_measure" : "BM_logmel_30s_clip_in_memory",
                                 [measure](benchmark::State& s) { log_mel_in_memory(s, measure); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  for (const auto& [name, rate, channels] :
       {std::tuple{"BM_patches_from_files/22050_mono", 22050, 1}, std::tuple{"BM_patches_from_files/44100_stereo", 44100, 2}})
    benchmark::RegisterBenchmark(name, [rate, channels](benchmark::State& s) { patches_from_files(s, rate, channels); })
        ->ArgName("threads")
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
