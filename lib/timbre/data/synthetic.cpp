#include "timbre/data/synthetic.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <numbers>

#include "timbre/core/error.h"
#include "timbre/core/random.h"
#include "timbre/data/audio.h"

namespace timbre::data {

namespace {

// A genre's style. Patterns are 16 sixteenth-note steps per bar, bit s = step s.
struct Style {
  double tempo_lo, tempo_hi;  // beats per minute
  uint16_t kick, snare, hat;
  double drums;  // drum level (0: none)
  double swing;  // delay of odd sixteenths, in steps
  int lead_lo, lead_hi;  // MIDI pitch range of the lead
  double lead_density;   // lead notes per beat
  double lead_length;    // note length as a fraction of the time to the next note
  double rolloff;        // harmonic h has amplitude 1 / h^rolloff: low is bright
  double odd_only;       // > 0.5: odd harmonics only (square-like)
  double lead_decay;     // 1/s; 0 sustains, high plucks
  double lead;           // level
  int bass_lo, bass_hi;
  double bass_density, bass;
  double pad;    // sustained chords
  double skank;  // short off-beat chords
  double drive;  // tanh distortion gain (0: clean)
  double noise;  // background noise level
  double minor;  // > 0.5: minor scale, else major
};

constexpr uint16_t steps(std::initializer_list<int> on) {
  uint16_t bits = 0;
  for (int s : on) bits = static_cast<uint16_t>(bits | (1u << s));
  return bits;
}

const std::array<const char*, 8> kNames = {"ambient", "chiptune", "classical", "folk",
                                           "hiphop",  "metal",    "reggae",    "techno"};
// Overlaps on purpose: ambient/classical have no drums, chiptune/techno share
// square leads and a steady kick, hiphop/reggae share slow tempi and heavy bass,
// folk/classical share plucked harmonic leads, metal/chiptune share speed.
const std::array<Style, 8> kStyles = {{
    // tempo      kick                     snare                 hat                                drums swing
    {60, 85, 0, 0, 0, 0.0, 0.0,
     // lead: range density length rolloff odd decay level; bass: range density level; pad skank drive noise minor
     55, 79, 0.3, 0.95, 2.2, 0, 0.3, 0.35, 36, 48, 0.25, 0.25, 0.5, 0, 0, 0.004, 0.3},
    {130, 165, steps({0, 4, 8, 12}), steps({4, 12}), steps({0, 2, 4, 6, 8, 10, 12, 14}), 0.5, 0.0,
     64, 88, 4.0, 0.5, 0.9, 1, 2.0, 0.35, 36, 52, 2.0, 0.35, 0.0, 0, 0, 0.002, 0.4},
    {70, 110, 0, 0, 0, 0.0, 0.0,
     48, 84, 2.0, 0.8, 1.4, 0, 1.5, 0.45, 36, 55, 1.0, 0.3, 0.2, 0, 0, 0.003, 0.5},
    {90, 125, steps({0, 8}), 0, steps({0, 4, 8, 12}), 0.25, 0.1,
     52, 76, 1.5, 0.7, 1.5, 0, 5.0, 0.45, 40, 55, 1.0, 0.3, 0.0, 0.15, 0, 0.004, 0.4},
    {80, 98, steps({0, 7, 10}), steps({4, 12}), steps({0, 2, 4, 6, 8, 10, 12, 14}), 0.8, 0.25,
     60, 80, 0.5, 0.6, 1.6, 0, 1.0, 0.25, 28, 43, 0.5, 0.6, 0.15, 0, 0, 0.006, 0.7},
    {140, 190, steps({0, 2, 4, 6, 8, 10, 12, 14}), steps({4, 12}), steps({0, 2, 4, 6, 8, 10, 12, 14}), 0.8, 0.0,
     40, 64, 2.0, 0.9, 1.0, 0, 0.5, 0.4, 28, 40, 2.0, 0.45, 0.0, 0, 6.0, 0.02, 0.8},
    {70, 95, steps({8}), steps({8}), steps({2, 6, 10, 14}), 0.6, 0.15,
     57, 76, 0.75, 0.6, 1.5, 0, 1.0, 0.25, 33, 48, 1.0, 0.55, 0.0, 0.35, 0, 0.005, 0.6},
    {120, 135, steps({0, 4, 8, 12}), 0, steps({2, 6, 10, 14}), 0.8, 0.0,
     57, 81, 4.0, 0.4, 1.2, 1, 3.0, 0.3, 33, 45, 2.0, 0.5, 0.25, 0, 1.5, 0.003, 0.6},
}};

// Seeded draws with explicit arithmetic (std:: distributions differ between standard libraries).
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  double uniform(double lo = 0, double hi = 1) {
    return lo + (hi - lo) * static_cast<double>(g_.next_u64() >> 11) * 0x1.0p-53;
  }
  int64_t below(int64_t n) { return static_cast<int64_t>(g_.next_u64() % static_cast<uint64_t>(n)); }
  bool chance(double p) { return uniform() < p; }

 private:
  Generator g_;
};

uint64_t song_seed(uint64_t seed, const std::string& genre, int64_t index) {
  uint64_t h = seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(index) * 0xbf58476d1ce4e5b9ULL;
  for (char c : genre) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

double lerp(double a, double b, double w) { return a + (b - a) * w; }

// The song's own style: its genre's, drifted toward another genre's by a random weight, then jittered.
Style song_style(int genre, Rng& rng, double max_drift) {
  const int other = static_cast<int>((genre + 1 + rng.below(7)) % 8);
  const double w = rng.uniform(0, max_drift);
  const Style& a = kStyles[genre];
  const Style& b = kStyles[other];
  Style s = a;
  auto blend = [&](double Style::*f) { s.*f = lerp(a.*f, b.*f, w); };
  for (double Style::*f : {&Style::tempo_lo, &Style::tempo_hi, &Style::drums, &Style::swing, &Style::lead_density,
                           &Style::lead_length, &Style::rolloff, &Style::odd_only, &Style::lead_decay, &Style::lead,
                           &Style::bass_density, &Style::bass, &Style::pad, &Style::skank, &Style::drive,
                           &Style::noise, &Style::minor})
    blend(f);
  s.lead_lo = static_cast<int>(std::lround(lerp(a.lead_lo, b.lead_lo, w)));
  s.lead_hi = static_cast<int>(std::lround(lerp(a.lead_hi, b.lead_hi, w)));
  s.bass_lo = static_cast<int>(std::lround(lerp(a.bass_lo, b.bass_lo, w)));
  s.bass_hi = static_cast<int>(std::lround(lerp(a.bass_hi, b.bass_hi, w)));
  for (uint16_t Style::*p : {&Style::kick, &Style::snare, &Style::hat}) {
    uint16_t bits = 0;
    for (int step = 0; step < 16; ++step) {
      bool on = ((rng.chance(w) ? b.*p : a.*p) >> step) & 1;
      if (rng.chance(0.05)) on = !on;  // a song's own fills and accents
      if (on) bits = static_cast<uint16_t>(bits | (1u << step));
    }
    s.*p = bits;
  }
  if (s.drums < 0.05) s.kick = s.snare = s.hat = 0;
  s.lead_density *= rng.uniform(0.7, 1.4);
  s.rolloff *= rng.uniform(0.75, 1.3);
  s.lead *= rng.uniform(0.7, 1.3);
  s.bass *= rng.uniform(0.7, 1.3);
  s.drums *= rng.uniform(0.7, 1.3);
  s.noise *= rng.uniform(0.5, 2.0);
  return s;
}

// Fast noise for drums and background (a xorshift; the song's Rng picks its seed).
class Noise {
 public:
  explicit Noise(uint64_t seed) : state_(seed | 1) {}
  float next() {  // uniform in [-1, 1)
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return static_cast<float>(static_cast<int64_t>(state_ >> 40) - (int64_t{1} << 23)) * 0x1.0p-23f;
  }

 private:
  uint64_t state_;
};

// One period of an instrument's waveform, read with linear interpolation: a
// note costs one lookup per sample whatever its number of partials.
class Wavetable {
 public:
  static constexpr int kSize = 4096;
  // Partials 1, 1 + step, ... up to max_partial with amplitude 1/h^rolloff.
  // Instruments use up to the 8th partial, which for the highest note (MIDI 88) stays below 11025 Hz.
  Wavetable(double rolloff, int step, int max_partial) : table_(kSize + 1) {
    for (int h = 1; h <= max_partial; h += step)
      for (int i = 0; i <= kSize; ++i)
        table_[i] += static_cast<float>(std::sin(2 * std::numbers::pi * h * i / kSize) / std::pow(h, rolloff));
  }
  static const Wavetable& sine() {
    static const Wavetable table(0.0, 1, 1);
    return table;
  }
  // Value at phase in [0, 2^32) (a full period).
  float at(uint32_t phase) const {
    const uint32_t i = phase >> 20;
    const float frac = static_cast<float>(phase & 0xFFFFF) * 0x1.0p-20f;
    return table_[i] + frac * (table_[i + 1] - table_[i]);
  }

 private:
  std::vector<float> table_;
};

class Renderer {
 public:
  Renderer(int64_t n, int sample_rate, uint64_t noise_seed)
      : buffer_(static_cast<size_t>(n), 0.0f), sr_(sample_rate), noise_(noise_seed) {}

  // A note with a 5 ms attack, exponential decay (rate `decay` per second) and a short release.
  void note(double start_s, double length_s, double hz, double level, double decay, const Wavetable& timbre,
            std::vector<float>& into) const {
    const int64_t begin = static_cast<int64_t>(start_s * sr_), n = static_cast<int64_t>(length_s * sr_);
    if (begin >= static_cast<int64_t>(into.size()) || n <= 0 || hz <= 0) return;
    const int64_t end = std::min<int64_t>(begin + n, static_cast<int64_t>(into.size()));
    const int64_t attack = std::max<int64_t>(1, sr_ / 200), release = std::min<int64_t>(sr_ / 50, n / 2 + 1);
    const auto increment = static_cast<uint32_t>(hz / sr_ * 4294967296.0);
    const float fall = static_cast<float>(std::exp(-decay / sr_));
    uint32_t phase = 0;
    float env = static_cast<float>(level);
    for (int64_t i = begin; i < end; ++i, phase += increment, env *= fall) {
      const int64_t k = i - begin;
      const float shape = k < attack ? static_cast<float>(k) / attack
                          : n - k < release ? static_cast<float>(n - k) / release
                                            : 1.0f;
      into[i] += env * shape * timbre.at(phase);
    }
  }

  // A sine sweeping down from ~158 Hz to 48 Hz.
  void kick(double t, double level) {
    const int64_t begin = static_cast<int64_t>(t * sr_), n = sr_ * 35 / 100;
    const float fall = static_cast<float>(std::exp(-1.0 / (0.15 * sr_))), sweep_fall = static_cast<float>(std::exp(-1.0 / (0.03 * sr_)));
    float env = static_cast<float>(level), sweep = 110;
    uint32_t phase = 0;
    for (int64_t k = 0; k < n && begin + k < size(); ++k, env *= fall, sweep *= sweep_fall) {
      phase += static_cast<uint32_t>((48 + sweep) / sr_ * 4294967296.0);
      buffer_[begin + k] += env * Wavetable::sine().at(phase);
    }
  }

  // Noise bursts, high-passed by a first difference: snares (with a body tone) and hats.
  void noise_hit(double t, double level, double decay_s, double length_s, double body_hz) {
    const int64_t begin = static_cast<int64_t>(t * sr_), n = static_cast<int64_t>(length_s * sr_);
    const float fall = static_cast<float>(std::exp(-1.0 / (decay_s * sr_)));
    const float body_fall = static_cast<float>(std::exp(-1.0 / (0.04 * sr_)));
    const auto body_increment = static_cast<uint32_t>(body_hz / sr_ * 4294967296.0);
    float env = static_cast<float>(level), body = 0.4f, prev = 0;
    uint32_t phase = 0;
    for (int64_t k = 0; k < n && begin + k < size(); ++k, env *= fall, body *= body_fall, phase += body_increment) {
      const float white = noise_.next();
      float v = (white - prev) * 0.5f;
      prev = white;
      if (body_hz > 0) v = 0.6f * v + body * Wavetable::sine().at(phase);
      buffer_[begin + k] += env * v;
    }
  }

  // Low-passed plus a little white noise, under everything.
  void background(double level) {
    float low = 0;
    const float l = static_cast<float>(level);
    for (float& v : buffer_) {
      low = 0.9f * low + 0.1f * noise_.next();
      v += l * (2 * low + 0.3f * noise_.next());
    }
  }

  std::vector<float>& buffer() { return buffer_; }
  int64_t size() const { return static_cast<int64_t>(buffer_.size()); }

 private:
  std::vector<float> buffer_;
  int sr_;
  Noise noise_;
};

double midi_hz(double midi) { return 440.0 * std::pow(2.0, (midi - 69) / 12); }

// MIDI pitch of scale degree `degree` (any integer) above `tonic`.
int scale_pitch(int tonic, int degree, bool minor) {
  static constexpr int major[7] = {0, 2, 4, 5, 7, 9, 11}, natural_minor[7] = {0, 2, 3, 5, 7, 8, 10};
  const int octave = (degree >= 0 ? degree : degree - 6) / 7, d = degree - 7 * octave;
  return tonic + 12 * octave + (minor ? natural_minor[d] : major[d]);
}

// The degree nearest to `pitch`, clamped into [lo, hi] by octaves.
int fit_range(int pitch, int lo, int hi) {
  while (pitch < lo) pitch += 12;
  while (pitch > hi && pitch - 12 >= lo) pitch -= 12;
  return pitch;
}

int genre_index(const std::string& genre) {
  const auto it = std::find(kNames.begin(), kNames.end(), genre);
  check(it != kNames.end(), "synthetic data", "unknown genre \"", genre,
        "\"; the synthetic genres are ambient, chiptune, classical, folk, hiphop, metal, reggae, techno");
  return static_cast<int>(it - kNames.begin());
}

std::vector<std::string> chosen_genres(const SyntheticOptions& o) {
  check(o.songs_per_genre >= 1, "synthetic data", "songs_per_genre must be at least 1, got ", o.songs_per_genre);
  check(o.clip_seconds > 0 && o.clip_seconds <= 600, "synthetic data", "clip_seconds must be in (0, 600], got ",
        o.clip_seconds);
  check(o.style_drift >= 0 && o.style_drift <= 1, "synthetic data", "style_drift must be in [0, 1], got ",
        o.style_drift);
  std::vector<std::string> genres = o.genres.empty() ? synthetic_genre_names() : o.genres;
  for (const std::string& g : genres) genre_index(g);
  return genres;
}

std::string song_file_name(const std::string& genre, int64_t index) {
  char number[24];
  std::snprintf(number, sizeof number, "%05lld", static_cast<long long>(index));
  return genre + "." + number + ".wav";
}

}  // namespace

std::vector<std::string> synthetic_genre_names() { return {kNames.begin(), kNames.end()}; }

std::vector<float> synthesize_song(const std::string& genre, int64_t index, const SyntheticOptions& options,
                                   int sample_rate) {
  check(sample_rate >= 8000, "synthesize_song", "sample rate must be at least 8000, got ", sample_rate);
  const int g = genre_index(genre);
  Rng rng(song_seed(options.seed, genre, index));
  const Style s = song_style(g, rng, options.style_drift);
  const double seconds = options.clip_seconds;
  Renderer out(static_cast<int64_t>(seconds * sample_rate), sample_rate, rng.below(int64_t{1} << 62));
  const Wavetable lead(s.rolloff, s.odd_only > 0.5 ? 2 : 1, 8), bass(1.8, 1, 8), pad(2.5, 1, 8), skank(0.9, 1, 8);
  std::vector<float> tonal(out.buffer().size(), 0.0f);  // lead, bass, chords: the distorted bus

  const double beat = 60.0 / rng.uniform(s.tempo_lo, s.tempo_hi), step = beat / 4, bar = 4 * beat;
  const int tonic = 48 + static_cast<int>(rng.below(12));
  const bool minor = s.minor > 0.5;
  static constexpr int progression_degrees[4] = {0, 3, 4, 5};
  std::vector<int> chords;  // one chord root degree per bar
  for (double t = 0; t < seconds; t += bar) chords.push_back(progression_degrees[rng.below(4)]);
  auto chord_at = [&](double t) { return chords[std::min(chords.size() - 1, static_cast<size_t>(t / bar))]; };

  // Drums, with an occasional bar of silence (a break).
  if (s.kick | s.snare | s.hat) {
    for (size_t b = 0; b < chords.size(); ++b) {
      if (rng.chance(0.1)) continue;
      for (int st = 0; st < 16; ++st) {
        const double t = static_cast<double>(b) * bar + st * step + (st % 2 ? s.swing * step : 0);
        const double velocity = rng.uniform(0.7, 1.0) * s.drums;
        if ((s.kick >> st) & 1) out.kick(t, 0.9 * velocity);
        if ((s.snare >> st) & 1) out.noise_hit(t, 0.7 * velocity, 0.09, 0.25, 185);
        if ((s.hat >> st) & 1) out.noise_hit(t, 0.25 * velocity, 0.02, 0.06, 0);
      }
    }
  }
  // Lead: a random walk through the scale, on a sixteenth-note grid.
  {
    int degree = static_cast<int>(rng.below(7));
    const double mean_gap = beat / std::max(0.1, s.lead_density);
    for (double t = 0; t < seconds;) {
      static constexpr double gap_factors[4] = {0.5, 1, 1, 2};
      const double gap = std::max(step, std::round(mean_gap * gap_factors[rng.below(4)] / step) * step);
      if (!rng.chance(0.15)) {
        degree += static_cast<int>(rng.below(5)) - 2;
        if (rng.chance(0.1)) degree += static_cast<int>(rng.below(9)) - 4;
        const int pitch = fit_range(scale_pitch(tonic, degree, minor), s.lead_lo, s.lead_hi);
        out.note(t, gap * s.lead_length, midi_hz(pitch), s.lead, s.lead_decay, lead, tonal);
      }
      t += gap;
    }
  }
  // Bass on the chord roots.
  if (s.bass > 0.01) {
    const double gap = std::max(step, std::round(beat / std::max(0.1, s.bass_density) / step) * step);
    for (double t = 0; t < seconds; t += gap) {
      const int pitch = fit_range(scale_pitch(tonic, chord_at(t), minor) - 24, s.bass_lo, s.bass_hi);
      out.note(t, gap * 0.9, midi_hz(pitch), s.bass, 2.0, bass, tonal);
    }
  }
  // Sustained pads and off-beat skank chords (triads on the chord root).
  for (size_t b = 0; b < chords.size(); ++b) {
    const double t0 = static_cast<double>(b) * bar;
    for (int voice = 0; voice < 3; ++voice) {
      const int pitch = fit_range(scale_pitch(tonic, chords[b] + 2 * voice, minor), 52, 72);
      if (s.pad > 0.01) out.note(t0, bar, midi_hz(pitch), s.pad / 3, 0.2, pad, tonal);
      if (s.skank > 0.01)
        for (int beat_no = 0; beat_no < 4; ++beat_no)
          out.note(t0 + (beat_no + 0.5) * beat, 0.1, midi_hz(pitch), s.skank / 3, 8.0, skank, tonal);
    }
  }
  std::vector<float>& mix = out.buffer();
  const double drive = s.drive;
  for (size_t i = 0; i < mix.size(); ++i)
    mix[i] += drive > 0.05 ? static_cast<float>(std::tanh(drive * tonal[i]) / std::tanh(drive)) : tonal[i];
  out.background(s.noise);
  // Loudness varies from song to song, as in a real collection.
  float peak = 1e-6f;
  for (float v : mix) peak = std::max(peak, std::abs(v));
  const float gain = static_cast<float>(rng.uniform(0.3, 0.95)) / peak;
  for (float& v : mix) v *= gain;
  return std::move(mix);
}

PatchDataset make_synthetic_dataset(const SyntheticOptions& options, const FeatureOptions& features) {
  const std::vector<std::string> genres = chosen_genres(options);
  const FeatureExtractor extractor(features);
  const int64_t per_genre = options.songs_per_genre, n = per_genre * static_cast<int64_t>(genres.size());
  std::vector<ClipPatches> clips(static_cast<size_t>(n));
  std::vector<std::string> errors(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic)
  for (int64_t i = 0; i < n; ++i) {
    const std::string& genre = genres[i / per_genre];
    ClipPatches& c = clips[i];
    c.label = static_cast<int32_t>(i / per_genre);
    c.song_name = genre + "/" + song_file_name(genre, i % per_genre);
    try {
      c.patches = extractor.from_audio(synthesize_song(genre, i % per_genre, options, features.sample_rate),
                                       "synthetic song " + c.song_name);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  for (const std::string& e : errors) check(e.empty(), "make_synthetic_dataset", e);
  return stack_clips(clips, genres, "make_synthetic_dataset");
}

void write_synthetic_gtzan(const std::string& dir, const SyntheticOptions& options, int sample_rate) {
  const std::vector<std::string> genres = chosen_genres(options);
  for (const std::string& g : genres) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(dir) / g, ec);
    check(!ec, "write_synthetic_gtzan", "cannot create ", (std::filesystem::path(dir) / g).string(), ": ",
          ec.message());
  }
  const int64_t per_genre = options.songs_per_genre, n = per_genre * static_cast<int64_t>(genres.size());
  std::vector<std::string> errors(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic)
  for (int64_t i = 0; i < n; ++i) {
    const std::string& genre = genres[i / per_genre];
    try {
      write_wav((std::filesystem::path(dir) / genre / song_file_name(genre, i % per_genre)).string(),
                synthesize_song(genre, i % per_genre, options, sample_rate), sample_rate);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  for (const std::string& e : errors) check(e.empty(), "write_synthetic_gtzan", e);
}

}  // namespace timbre::data
