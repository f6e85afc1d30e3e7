#include "timbre/data/melspec.h"

#include <fftw3.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <numbers>

#include "timbre/core/error.h"

namespace timbre::data {

namespace {

// The Slaney mel scale (librosa.hz_to_mel with htk=False): linear below 1 kHz, logarithmic above.
constexpr double kSlaneyHzPerMel = 200.0 / 3.0;
constexpr double kSlaneyLogStartHz = 1000.0;
constexpr double kSlaneyLogStartMel = kSlaneyLogStartHz / kSlaneyHzPerMel;
const double kSlaneyLogStep = std::log(6.4) / 27.0;

double hz_to_mel(double hz, bool htk) {
  if (htk) return 2595.0 * std::log10(1.0 + hz / 700.0);
  if (hz < kSlaneyLogStartHz) return hz / kSlaneyHzPerMel;
  return kSlaneyLogStartMel + std::log(hz / kSlaneyLogStartHz) / kSlaneyLogStep;
}

double mel_to_hz(double mel, bool htk) {
  if (htk) return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
  if (mel < kSlaneyLogStartMel) return mel * kSlaneyHzPerMel;
  return kSlaneyLogStartHz * std::exp(kSlaneyLogStep * (mel - kSlaneyLogStartMel));
}

// FFTW's planner is not thread-safe, its plans are: one complex forward plan
// per transform size and planner flag, made once under a lock and executed
// with new-array execute from any thread. The spectra come from complex
// transforms of two real frames at once (one in the real, one in the imaginary
// part): this FFTW build vectorises its complex codelets but not its
// real-input ones, and one complex transform of n points costs about half of
// two real ones.
class PlanRegistry {
 public:
  static PlanRegistry& instance() {
    static PlanRegistry registry;
    return registry;
  }
  fftwf_plan c2c(int n, bool measure) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find({n, measure});
    if (it != plans_.end()) return it->second;
    fftwf_complex* in = fftwf_alloc_complex(static_cast<size_t>(n));
    fftwf_complex* out = fftwf_alloc_complex(static_cast<size_t>(n));
    fftwf_plan plan = fftwf_plan_dft_1d(n, in, out, FFTW_FORWARD, measure ? FFTW_MEASURE : FFTW_ESTIMATE);
    fftwf_free(in);
    fftwf_free(out);
    check(plan != nullptr, "MelExtractor", "FFTW could not plan a transform of size ", n);
    plans_.emplace(std::pair{n, measure}, plan);
    return plan;
  }
  ~PlanRegistry() {
    for (auto& [key, plan] : plans_) fftwf_destroy_plan(plan);
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<int, bool>, fftwf_plan> plans_;
};

template <typename T>
struct FftwFree {
  void operator()(T* p) const { fftwf_free(p); }
};
template <typename T>
using FftwBuffer = std::unique_ptr<T[], FftwFree<T>>;

FftwBuffer<float> fftw_floats(int64_t n) {
  FftwBuffer<float> buffer(fftwf_alloc_real(static_cast<size_t>(n)));
  check(buffer != nullptr, "MelExtractor", "out of memory for ", n, " floats");
  return buffer;
}

// 10 log10(x) as std::log10 gives it (within 2 ulps), written so that loops
// over it vectorise: selects between computed values only, and masks of one
// type per select (GCC 12 gives up on a conditional floating-point operation,
// or on a float comparison choosing between integers). x = 2^e m with m in
// [sqrt(1/2), sqrt(2)), ln m from Cephes' logf polynomial (about 1 ulp), e ln 2
// in two parts; subnormal x is scaled by 2^24 into the normal range first.
inline float fast_decibels(float x) {
  const auto raw = std::bit_cast<uint32_t>(x);
  const auto raw_scaled = std::bit_cast<uint32_t>(x * 16777216.0f);  // 2^24: subnormals become normal
  const bool subnormal = raw < 0x00800000u;
  const uint32_t bits = subnormal ? raw_scaled : raw;
  const int32_t bias = subnormal ? 150 : 126;
  const float m = std::bit_cast<float>((bits & 0x007fffffu) | 0x3f000000u);  // [0.5, 1)
  const bool low = m < 0.70710678f;
  const float e = static_cast<float>(static_cast<int32_t>(bits >> 23) - bias) - (low ? 1.0f : 0.0f);
  const float f = m * (low ? 2.0f : 1.0f) - 1.0f;
  const float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  y += -2.12194440e-4f * e;
  y += -0.5f * z;
  constexpr float kDecibelsPerNeper = 4.3429448190325182f;  // 10 / ln 10
  const float decibels = (f + y + 0.693359375f * e) * kDecibelsPerNeper;
  // What std::log10 gives outside (0, inf): -inf at 0, NaN below 0 and for NaN, inf at inf.
  const float special = x == 0.0f ? -std::numeric_limits<float>::infinity()
                                  : x > 0.0f ? x : std::numeric_limits<float>::quiet_NaN();
  return x > 0.0f && x <= std::numeric_limits<float>::max() ? decibels : special;
}

// Index of padded position j into a signal of n samples under numpy's 'reflect' mode (edge not repeated).
int64_t reflect_index(int64_t j, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  j %= period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

}  // namespace

std::vector<float> mel_filterbank(int sample_rate, const MelOptions& o) {
  const std::string where = "mel_filterbank";
  check(sample_rate > 0, where, "sample rate must be positive, got ", sample_rate);
  check(o.n_fft >= 2, where, "n_fft must be at least 2, got ", o.n_fft);
  check(o.n_mels >= 1, where, "n_mels must be at least 1, got ", o.n_mels);
  const double fmax = o.fmax > 0 ? o.fmax : sample_rate / 2.0;
  check(o.fmin >= 0 && o.fmin < fmax, where, "need 0 <= fmin < fmax, got fmin ", o.fmin, ", fmax ", fmax);
  const int bins = o.n_fft / 2 + 1;
  // Band edges: n_mels + 2 points evenly spaced in mel between fmin and fmax.
  std::vector<double> edges(o.n_mels + 2);
  const double mel_lo = hz_to_mel(o.fmin, o.htk), mel_hi = hz_to_mel(fmax, o.htk);
  for (int i = 0; i < o.n_mels + 2; ++i)
    edges[i] = mel_to_hz(mel_lo + (mel_hi - mel_lo) * i / (o.n_mels + 1), o.htk);
  std::vector<float> weights(static_cast<size_t>(o.n_mels) * bins);
  for (int m = 0; m < o.n_mels; ++m) {
    const double lower_width = edges[m + 1] - edges[m], upper_width = edges[m + 2] - edges[m + 1];
    const double scale = o.norm == MelOptions::Norm::slaney ? 2.0 / (edges[m + 2] - edges[m]) : 1.0;
    for (int b = 0; b < bins; ++b) {
      const double hz = static_cast<double>(b) * sample_rate / o.n_fft;
      const double rising = (hz - edges[m]) / lower_width, falling = (edges[m + 2] - hz) / upper_width;
      weights[static_cast<size_t>(m) * bins + b] = static_cast<float>(std::max(0.0, std::min(rising, falling)) * scale);
    }
  }
  return weights;
}

// Frames per block of the mel projection: a block's power spectra are stored
// bin-major, [bin][frame], so each band's sum over its bins runs across the
// block's frames as one vector, and its results land contiguously in the
// (n_mels, frames) output. 8 frames of 1025 bins (32 KB) stay in L1.
constexpr int kBlockFrames = 8;
constexpr int kChains = 4;

struct MelExtractor::Impl {
  fftwf_plan plan = nullptr;
  std::vector<float> window;
  // The filterbank stored sparsely: band m weighs bins [first[m], first[m] + width[m])
  // with weights[offset[m]], weights[offset[m] + 1], ...
  std::vector<int> first, width, offset;
  std::vector<float> weights;
};

MelExtractor::MelExtractor(int sample_rate, const MelOptions& options)
    : sample_rate_(sample_rate), options_(options), impl_(std::make_unique<Impl>()) {
  const std::string where = "MelExtractor";
  check(options.hop_length >= 1, where, "hop_length must be at least 1, got ", options.hop_length);
  check(options.power > 0, where, "power must be positive, got ", options.power);
  check(!options.to_db || options.amin > 0, where, "amin must be positive, got ", options.amin);
  const std::vector<float> dense = mel_filterbank(sample_rate, options);
  const int bins = options.n_fft / 2 + 1;
  for (int m = 0; m < options.n_mels; ++m) {
    const float* row = dense.data() + static_cast<size_t>(m) * bins;
    int lo = 0, hi = bins;
    while (lo < bins && row[lo] == 0.0f) ++lo;
    while (hi > lo && row[hi - 1] == 0.0f) --hi;
    impl_->first.push_back(lo);
    impl_->width.push_back(hi - lo);
    impl_->offset.push_back(static_cast<int>(impl_->weights.size()));
    impl_->weights.insert(impl_->weights.end(), row + lo, row + hi);
  }
  impl_->window.resize(options.n_fft);
  for (int k = 0; k < options.n_fft; ++k)
    impl_->window[k] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * k / options.n_fft));
  impl_->plan = PlanRegistry::instance().c2c(options.n_fft, options.measure_fft);
}

MelExtractor::~MelExtractor() = default;

int64_t MelExtractor::frames_for(int64_t count) const {
  const int64_t padded = options_.center ? count + 2 * (options_.n_fft / 2) : count;
  return padded < options_.n_fft ? 0 : 1 + (padded - options_.n_fft) / options_.hop_length;
}

void to_decibels(const float* power, float* decibels, int64_t count) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) decibels[i] = fast_decibels(power[i]);
}

MelSpectrogram MelExtractor::compute(const float* x, int64_t n) const {
  MelSpectrogram out;
  compute(x, n, out);
  return out;
}

void MelExtractor::compute(const float* x, int64_t n, MelSpectrogram& out) const {
  const std::string where = "MelExtractor::compute";
  check(n >= 1, where, "empty signal");
  const int64_t frames = frames_for(n);
  check(frames >= 1, where, "a signal of ", n, " samples is shorter than n_fft ", options_.n_fft,
        " (centring is off)");
  const int n_fft = options_.n_fft, bins = n_fft / 2 + 1, n_mels = options_.n_mels;
  const int64_t pad = options_.center ? n_fft / 2 : 0;
  const bool reflect = options_.padding == MelOptions::Padding::reflect;
  const float* window = impl_->window.data();

  // Two frames' samples where they are not a plain slice of x (the padded ends, or no frame at all).
  FftwBuffer<float> edge = fftw_floats(2 * static_cast<int64_t>(n_fft));
  FftwBuffer<float> packed = fftw_floats(2 * static_cast<int64_t>(n_fft));    // frame a + i frame b, windowed
  FftwBuffer<float> spectrum = fftw_floats(2 * static_cast<int64_t>(n_fft));  // its transform, interleaved
  std::vector<float> block(static_cast<size_t>(bins) * kBlockFrames);        // power, [bin][frame in block]
  out.n_mels = n_mels;
  out.frames = frames;
  out.values.resize(static_cast<size_t>(n_mels * frames));

  // The samples of frame t (zeros past the last frame), in place when possible.
  auto frame_samples = [&](int64_t t, float* scratch) -> const float* {
    const int64_t start = t * options_.hop_length - pad;
    if (t < frames && start >= 0 && start + n_fft <= n) return x + start;
    for (int k = 0; k < n_fft; ++k) {
      const int64_t j = start + k;
      scratch[k] = t >= frames ? 0.0f : (j >= 0 && j < n) ? x[j] : reflect ? x[reflect_index(j, n)] : 0.0f;
    }
    return scratch;
  };

  for (int64_t t0 = 0; t0 < frames; t0 += kBlockFrames) {
    const int count = static_cast<int>(std::min<int64_t>(kBlockFrames, frames - t0));
    for (int j = 0; j < count; j += 2) {
      const float* a = frame_samples(t0 + j, edge.get());
      const float* b = frame_samples(t0 + j + 1, edge.get() + n_fft);
      float* in = packed.get();
#pragma omp simd
      for (int k = 0; k < n_fft; ++k) {
        in[2 * k] = a[k] * window[k];
        in[2 * k + 1] = b[k] * window[k];
      }
      fftwf_execute_dft(impl_->plan, reinterpret_cast<fftwf_complex*>(in),
                        reinterpret_cast<fftwf_complex*>(spectrum.get()));
      // Z = A + iB for the real frames' spectra A and B: A[k] = (Z[k] + conj Z[n-k]) / 2,
      // B[k] = (Z[k] - conj Z[n-k]) / 2i.
      const float* z = spectrum.get();
      float* p = block.data() + j;
      p[0] = z[0] * z[0];
      p[1] = z[1] * z[1];
#pragma omp simd
      for (int k = 1; k < bins; ++k) {
        const float ar = z[2 * k], ai = z[2 * k + 1], br = z[2 * (n_fft - k)], bi = z[2 * (n_fft - k) + 1];
        const float sum_re = ar + br, diff_im = ai - bi, sum_im = ai + bi, diff_re = ar - br;
        p[k * kBlockFrames] = 0.25f * (sum_re * sum_re + diff_im * diff_im);
        p[k * kBlockFrames + 1] = 0.25f * (sum_im * sum_im + diff_re * diff_re);
      }
    }
    if (options_.power != 2.0) {
      const float exponent = static_cast<float>(options_.power / 2.0);
      for (float& v : block) v = std::pow(v, exponent);
    }
    for (int m = 0; m < n_mels; ++m) {
      const float* w = impl_->weights.data() + impl_->offset[m];
      const float* p = block.data() + static_cast<size_t>(impl_->first[m]) * kBlockFrames;
      const int width = impl_->width[m];
      // Four partial sums in flight: one chain of dependent additions would wait on each.
      float partial[kChains][kBlockFrames] = {};
      int i = 0;
      for (; i + kChains <= width; i += kChains)
        for (int c = 0; c < kChains; ++c)
#pragma omp simd
          for (int f = 0; f < kBlockFrames; ++f) partial[c][f] += w[i + c] * p[(i + c) * kBlockFrames + f];
      for (; i < width; ++i)
#pragma omp simd
        for (int f = 0; f < kBlockFrames; ++f) partial[0][f] += w[i] * p[i * kBlockFrames + f];
      float sum[kBlockFrames];
#pragma omp simd
      for (int f = 0; f < kBlockFrames; ++f) sum[f] = (partial[0][f] + partial[1][f]) + (partial[2][f] + partial[3][f]);
      float* dst = out.values.data() + m * frames + t0;
      if (count == kBlockFrames)
        std::memcpy(dst, sum, sizeof sum);  // one vector store, not a variable-length copy
      else
        std::copy(sum, sum + count, dst);
    }
  }

  if (options_.to_db) {
    // librosa.power_to_db: 10 log10(max(S, amin)) - 10 log10(max(ref, amin)), floored at max - top_db.
    float* v = out.values.data();
    const float amin = static_cast<float>(options_.amin);
    float largest = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : largest)
    for (int64_t i = 0; i < n_mels * frames; ++i) {
      const float power = v[i] < amin ? amin : v[i];  // std::max's result, by value: vectorises
      const float decibels = fast_decibels(power);
      v[i] = decibels;
      largest = decibels > largest ? decibels : largest;
    }
    // 10 log10 is monotonic, so the reference max(S) in decibels is the largest value.
    const float offset = options_.reference == MelOptions::Reference::max ? largest : 0.0f;
    const float highest = largest - offset;
    const float floor = options_.top_db > 0 ? highest - static_cast<float>(options_.top_db)
                                            : -std::numeric_limits<float>::infinity();
#pragma omp simd
    for (int64_t i = 0; i < n_mels * frames; ++i) v[i] = std::max(v[i] - offset, floor);
  }
}

}  // namespace timbre::data
