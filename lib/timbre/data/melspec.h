// Log-mel spectrograms as librosa computes them (librosa.feature.melspectrogram
// followed by librosa.power_to_db), with librosa's defaults: STFT through FFTW
// with a periodic Hann window, n_fft 2048, hop 512, centred frames; power 2;
// Slaney mel scale and normalisation; 10 log10 with amin 1e-10 and top_db 80.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace timbre::data {

struct MelOptions {
  enum class Padding { constant, reflect };  // how centred frames pad the signal's ends (librosa >= 0.10: constant)
  enum class Norm { none, slaney };          // filter normalisation (librosa: norm='slaney')
  enum class Reference { one, max };         // power_to_db's ref: 1.0 or np.max

  int n_fft = 2048;
  int hop_length = 512;
  bool center = true;
  Padding padding = Padding::constant;
  double power = 2.0;  // 1: magnitude, 2: power
  int n_mels = 80;
  double fmin = 0.0;
  double fmax = 0.0;  // <= 0: sample_rate / 2
  bool htk = false;   // true: the HTK mel formula instead of Slaney's
  Norm norm = Norm::slaney;
  bool to_db = true;  // false: leave the mel power spectrogram linear
  double amin = 1e-10;
  double top_db = 80.0;  // <= 0: no clipping
  Reference reference = Reference::one;
  // How FFTW picks its transform: false (the default) uses FFTW_ESTIMATE, the
  // same plan and so bit-identical features in every process; true times
  // candidates once per process (FFTW_MEASURE), whose pick, and so the last
  // bits of the features, may change from one process to the next. Either way
  // the values agree to ~1e-6 relative; docs/performance.md has the speeds.
  bool measure_fft = false;
};

// A log-mel spectrogram, row-major (n_mels, frames): mel band m of frame t at values[m * frames + t].
struct MelSpectrogram {
  std::vector<float> values;
  int64_t n_mels = 0;
  int64_t frames = 0;
};

// The filterbank librosa.filters.mel(sr=sample_rate, n_fft, n_mels, fmin,
// fmax, htk, norm) returns, row-major (n_mels, 1 + n_fft / 2).
std::vector<float> mel_filterbank(int sample_rate, const MelOptions& options);

// 10 log10(power[i]) into decibels[i] by the vectorised logarithm that
// MelExtractor uses: within 2 units in the last place of the exact value for
// every positive float, subnormals included (2e-5 dB between -100 and +100 dB),
// and std::log10's answers at 0, inf, NaN and below 0.
void to_decibels(const float* power, float* decibels, int64_t count);

// Computes log-mel spectrograms for one sample rate and one set of options.
// Construction builds the window, the filterbank and the FFTW plan (shared by
// every extractor of the same n_fft); compute() is const and safe to call from
// many threads at once.
class MelExtractor {
 public:
  MelExtractor(int sample_rate, const MelOptions& options = {});
  ~MelExtractor();
  MelExtractor(const MelExtractor&) = delete;
  MelExtractor& operator=(const MelExtractor&) = delete;

  MelSpectrogram compute(const float* samples, int64_t count) const;
  // The same into `out`, reusing the memory of out.values (one per thread for many clips).
  void compute(const float* samples, int64_t count, MelSpectrogram& out) const;
  MelSpectrogram compute(const std::vector<float>& samples) const {
    return compute(samples.data(), static_cast<int64_t>(samples.size()));
  }
  // Frames that compute() yields for `count` samples.
  int64_t frames_for(int64_t count) const;

  int sample_rate() const { return sample_rate_; }
  const MelOptions& options() const { return options_; }

 private:
  struct Impl;
  int sample_rate_;
  MelOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace timbre::data
