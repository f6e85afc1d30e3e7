// The fast paths of MelExtractor against float64 references computed here:
// the vectorised logarithm against std::log10, and whole spectrograms against
// a direct (non-FFT) float64 DFT, on signals whose loudness jumps by 100 dB
// between neighbouring frames (the frames are transformed two at a time, one as
// the real and one as the imaginary part of a complex FFT, so a loud frame's
// rounding errors could leak into a quiet partner).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "timbre/data/melspec.h"

using namespace timbre::data;

namespace {

// librosa's log-mel (n_fft 2048, hop 512, centred with zeros, power 2, Slaney
// mels, power_to_db with ref 1 and amin 1e-10, no top_db floor) in float64.
std::vector<double> reference_log_mel(const std::vector<float>& x, const MelOptions& o, int64_t frames) {
  const int n = o.n_fft, bins = n / 2 + 1, pad = n / 2;
  const std::vector<float> fb = mel_filterbank(22050, o);
  std::vector<double> cosine(n), sine(n), frame(n), power(bins), out(static_cast<size_t>(o.n_mels * frames));
  for (int k = 0; k < n; ++k) {
    cosine[k] = std::cos(2 * std::numbers::pi * k / n);
    sine[k] = std::sin(2 * std::numbers::pi * k / n);
  }
  for (int64_t t = 0; t < frames; ++t) {
    for (int k = 0; k < n; ++k) {
      const int64_t j = t * o.hop_length - pad + k;
      const double window = 0.5 - 0.5 * cosine[k];
      frame[k] = j >= 0 && j < static_cast<int64_t>(x.size()) ? x[j] * window : 0.0;
    }
    for (int b = 0; b < bins; ++b) {
      double re = 0, im = 0;
      for (int k = 0; k < n; ++k) {
        const int phase = static_cast<int>((static_cast<int64_t>(b) * k) % n);
        re += frame[k] * cosine[phase];
        im -= frame[k] * sine[phase];
      }
      power[b] = re * re + im * im;
    }
    for (int m = 0; m < o.n_mels; ++m) {
      double s = 0;
      for (int b = 0; b < bins; ++b) s += fb[static_cast<size_t>(m) * bins + b] * power[b];
      out[m * frames + t] = 10 * std::log10(std::max(s, o.amin));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the vectorised decibels match std::log10 for every kind of float", "[melspec]") {
  std::vector<float> x = {std::numeric_limits<float>::min(),
                          std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(),
                          1e-10f,  // librosa's amin
                          1.0f,
                          std::nextafter(1.0f, 0.0f),
                          std::nextafter(1.0f, 2.0f),
                          0.70710678f,
                          0.70710677f};
  // Every power of two's neighbourhood, subnormals included, and random mantissas at every exponent.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  for (int e = -149; e <= 127; ++e) {
    const float p = std::ldexp(1.0f, e);
    x.insert(x.end(), {p, std::nextafter(p, 0.0f), std::nextafter(p, 1e38f)});
    for (int i = 0; i < 50; ++i) x.push_back(std::ldexp(mantissa(rng), e));
  }
  std::vector<float> db(x.size());
  to_decibels(x.data(), db.data(), static_cast<int64_t>(x.size()));
  // Between librosa's amin (1e-10, -100 dB) and +100 dB, an absolute bound;
  // everywhere (results from -450 to +385 dB, where the float spacing is
  // 3e-5 dB), 2 units in the last place of the result.
  double worst_in_range = 0, worst_ulps = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] > 0)) continue;  // nextafter(denorm_min, 0) is 0, checked below
    const double exact = 10 * std::log10(static_cast<double>(x[i]));
    const double error = std::abs(db[i] - exact);
    if (x[i] >= 1e-10f && x[i] <= 1e10f) worst_in_range = std::max(worst_in_range, error);
    const float f = static_cast<float>(exact);
    worst_ulps = std::max(worst_ulps, error / (std::nextafter(std::abs(f), 1e38f) - std::abs(f)));
  }
  INFO(x.size() << " values: largest error " << worst_in_range << " dB within +-100 dB, " << worst_ulps
                << " ulps overall");
  CHECK(worst_in_range < 2e-5);
  CHECK(worst_ulps <= 2);

  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> special = {0.0f, -0.0f, -1.0f, -inf, inf, std::numeric_limits<float>::quiet_NaN()};
  std::vector<float> special_db(special.size());
  to_decibels(special.data(), special_db.data(), static_cast<int64_t>(special.size()));
  for (size_t i = 0; i < special.size(); ++i) {
    INFO("10 log10(" << special[i] << ")");
    const float expected = 10 * std::log10(special[i]);
    if (std::isnan(expected))
      CHECK(std::isnan(special_db[i]));
    else
      CHECK(special_db[i] == expected);
  }
}

TEST_CASE("log-mel spectrograms match a float64 DFT across 100 dB jumps between frames", "[melspec]") {
  // 0.5 s: white noise whose level alternates between 1 and 1e-5 every 3000
  // samples (so that whole frames are quiet next to frames with loud parts),
  // and a 1 kHz tone throughout at 1e-3.
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::vector<float> x(11025);
  for (size_t i = 0; i < x.size(); ++i) {
    const float level = (i / 3000) % 2 == 0 ? 1.0f : 1e-5f;
    x[i] = level * noise(rng) + 1e-3f * static_cast<float>(std::sin(2 * std::numbers::pi * 1000 * i / 22050.0));
  }
  MelOptions o;
  o.top_db = 0;  // no floor: every value is compared
  const MelSpectrogram ours = MelExtractor(22050, o).compute(x);
  const std::vector<double> ref = reference_log_mel(x, o, ours.frames);
  REQUIRE(ours.values.size() == ref.size());
  // Within librosa's top_db 80 of the loudest value (measured: 3e-5 dB), and below it (values a
  // top_db 80 floor would replace; measured 1.3e-4 dB), far inside the librosa-parity tolerance (0.05 dB).
  const double top = *std::max_element(ref.begin(), ref.end());
  double worst_above = 0, worst_below = 0;
  int64_t below = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double diff = std::abs(ours.values[i] - ref[i]);
    if (ref[i] >= top - 80) {
      worst_above = std::max(worst_above, diff);
    } else {
      worst_below = std::max(worst_below, diff);
      ++below;
    }
  }
  INFO("max |ours - float64| within 80 dB of the top: " << worst_above << " dB; below: " << worst_below << " dB");
  CHECK(below > static_cast<int64_t>(ref.size()) / 10);  // the quiet frames are there
  CHECK(worst_above <= 1e-3);
  CHECK(worst_below <= 0.05);
}

TEST_CASE("compute into a reused spectrogram gives what a fresh one does", "[melspec]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 0.2f);
  const MelExtractor mel(22050);
  MelSpectrogram reused;
  for (size_t length : {30000, 5000, 12345, 30000}) {
    std::vector<float> x(length);
    for (float& v : x) v = noise(rng);
    mel.compute(x.data(), static_cast<int64_t>(x.size()), reused);
    const MelSpectrogram fresh = mel.compute(x);
    CHECK(reused.frames == fresh.frames);
    CHECK(reused.n_mels == fresh.n_mels);
    CHECK(reused.values == fresh.values);
  }
}
