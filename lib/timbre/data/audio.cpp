#include "timbre/data/audio.h"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include "timbre/core/error.h"

namespace timbre::data {

namespace {

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// libsndfile opens a truncated WAV or AU file without complaint and quietly
// shortens it; its log keeps the evidence as "data : 44100 (should be 19956)".
// Returns a description of the shortfall, or "" when the audio chunk is whole.
std::string truncation_in_log(SNDFILE* file) {
  char log[8192] = {};
  sf_command(file, SFC_GET_LOG_INFO, log, sizeof log);
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    const bool data_line = line.find("data") != std::string::npos || line.find("Data Size") != std::string::npos;
    const size_t should = line.find("(should be ");
    const size_t colon = line.find(':');
    if (!data_line || should == std::string::npos || colon == std::string::npos || colon > should) continue;
    const long long declared = std::atoll(line.c_str() + colon + 1);
    const long long present = std::atoll(line.c_str() + should + 11);
    // 0 and 0xFFFFFFFF are the "size unknown" marks of streamed files, not truncation.
    if (declared > present && declared != 0xFFFFFFFFLL)
      return "truncated: the header declares " + std::to_string(declared) + " bytes of audio, the file holds " +
             std::to_string(present);
  }
  return "";
}

// Leaves new elements of a vector uninitialised (no zero fill of buffers that are about to be overwritten).
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
};

// Every frame of an open file as interleaved samples into `samples`, read by
// `read` (sf_readf_short or sf_readf_float). Keeps reading past the header's
// count, which for compressed formats is an estimate. That count is only a claim
// (a 1 KB file may promise 2^35 frames): allocates for at most 2^24 samples
// ahead and grows as frames actually arrive.
template <typename Vector, typename T = typename Vector::value_type>
void read_all_frames(SNDFILE* file, const SF_INFO& info, sf_count_t (*read)(SNDFILE*, T*, sf_count_t),
                     Vector& samples, const std::string& where) {
  const sf_count_t claim_cap = std::max<sf_count_t>((sf_count_t{1} << 24) / info.channels, 1);
  sf_count_t frames = 0, capacity = std::min(std::max<sf_count_t>(info.frames, 1 << 16), claim_cap);
  for (;;) {
    samples.resize(static_cast<size_t>(capacity * info.channels));
    const sf_count_t got = read(file, samples.data() + frames * info.channels, capacity - frames);
    if (got <= 0) break;
    frames += got;
    if (frames == capacity) capacity *= 2;
  }
  samples.resize(static_cast<size_t>(frames * info.channels));
  check(sf_error(file) == SF_ERR_NO_ERROR, where, "decoding failed after ", frames, " frames: ", sf_strerror(file));
}

// Per-thread decode buffers are kept for the next file up to this many samples (64 MB of floats).
constexpr size_t kKeptSamples = size_t{1} << 24;

// read_audio into `audio`, reusing the memory of audio.samples.
void read_audio_into(const std::string& path, Audio& audio) {
  const std::string where = "read_audio(" + path + ")";
  check(std::filesystem::is_regular_file(path), where, "no such file");
  SF_INFO info{};
  SndfilePtr file(sf_open(path.c_str(), SFM_READ, &info));
  check(file != nullptr, where, "cannot decode: ", sf_strerror(nullptr));
  check(info.channels >= 1 && info.samplerate >= 1, where, "invalid header: ", info.channels, " channels at ",
        info.samplerate, " Hz");
  check(info.samplerate >= kMinSampleRate && info.samplerate <= kMaxSampleRate, where, "sample rate ",
        info.samplerate, " Hz is outside the supported ", kMinSampleRate, " to ", kMaxSampleRate, " Hz");
  const std::string truncation = truncation_in_log(file.get());
  check(truncation.empty(), where, truncation);

  audio.sample_rate = info.samplerate;
  audio.channels = info.channels;
  if ((info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16) {
    // 16-bit PCM (GTZAN's WAV files): libsndfile hands over the stored integers
    // without converting them one by one, and one vectorised pass scales them
    // as sf_readf_float would (x / 32768, exact in float; never non-finite).
    thread_local std::vector<int16_t, UninitializedAllocator<int16_t>> pcm;
    read_all_frames(file.get(), info, sf_readf_short, pcm, where);
    audio.samples.resize(pcm.size());
    float* out = audio.samples.data();
    const int16_t* in = pcm.data();
#pragma omp simd
    for (size_t i = 0; i < pcm.size(); ++i) out[i] = static_cast<float>(in[i]) * (1.0f / 32768.0f);
    if (pcm.capacity() > kKeptSamples) decltype(pcm)().swap(pcm);
  } else {
    read_all_frames(file.get(), info, sf_readf_float, audio.samples, where);
    int finite = 1;
#pragma omp simd reduction(& : finite)
    for (size_t i = 0; i < audio.samples.size(); ++i) finite &= std::isfinite(audio.samples[i]) ? 1 : 0;
    check(finite == 1, where, "non-finite sample values");
  }
  check(audio.frames() > 0, where, "no audio frames");
}

}  // namespace

Audio read_audio(const std::string& path) {
  Audio audio;
  read_audio_into(path, audio);
  return audio;
}

namespace {

// The mean over channels of interleaved samples written over the first
// `frames` of them (each frame is read before anything overwrites it).
void mix_down_in_place(float* s, int64_t frames, int channels) {
  check(channels >= 1, "mix_to_mono", "audio has ", channels, " channels");
  if (channels == 2) {
    // Lane i reads 2i and 2i + 1, at or past every slot that this or an earlier vector writes.
#pragma omp simd
    for (int64_t i = 0; i < frames; ++i) s[i] = (s[2 * i] + s[2 * i + 1]) / 2.0f;
  } else if (channels > 2) {
    for (int64_t i = 0; i < frames; ++i) {
      float sum = 0;
      for (int c = 0; c < channels; ++c) sum += s[i * channels + c];
      s[i] = sum / static_cast<float>(channels);
    }
  }
}

// resample `count` mono samples into `out`, reusing its memory.
void resample_into(const float* mono, size_t count, double from_rate, double to_rate, std::vector<float>& out) {
  check(from_rate > 0 && to_rate > 0, "resample", "sample rates must be positive, got ", from_rate, " -> ", to_rate);
  check(to_rate <= from_rate * kMaxResampleRatio && from_rate <= to_rate * kMaxResampleRatio, "resample",
        "rates ", from_rate, " -> ", to_rate, " Hz differ by more than a factor of ", kMaxResampleRatio);
  if (from_rate == to_rate) {
    out.assign(mono, mono + count);
    return;
  }
  out.resize(static_cast<size_t>(std::ceil(static_cast<double>(count) * to_rate / from_rate)));
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  size_t done = 0;
  const soxr_error_t err = soxr_oneshot(from_rate, to_rate, 1, mono, count, nullptr, out.data(), out.size(), &done,
                                        &io, &quality, nullptr);
  check(err == nullptr, "resample", "soxr failed: ", err ? err : "");
  // librosa.resample(fix=True) pads or trims to exactly ceil(n * to / from) samples.
  std::fill(out.begin() + static_cast<int64_t>(done), out.end(), 0.0f);
}

}  // namespace

std::vector<float> mix_to_mono(Audio audio) {
  const int64_t frames = audio.frames();
  mix_down_in_place(audio.samples.data(), frames, audio.channels);
  audio.samples.resize(static_cast<size_t>(frames));
  return std::move(audio.samples);
}

std::vector<float> resample(std::vector<float> mono, double from_rate, double to_rate) {
  if (from_rate == to_rate && from_rate > 0) return mono;
  std::vector<float> out;
  resample_into(mono.data(), mono.size(), from_rate, to_rate, out);
  return out;
}

std::vector<float> load_mono(const std::string& path, int sample_rate) {
  std::vector<float> mono;
  load_mono(path, sample_rate, mono);
  return mono;
}

void load_mono(const std::string& path, int sample_rate, std::vector<float>& mono) {
  // Decoded and mixed down in a buffer of this thread's, kept at its decoded
  // size (growing it back would zero-fill); mono audio at the wanted rate trades
  // places with `mono`, so that both buffers live on for the next file.
  thread_local Audio decoded;
  read_audio_into(path, decoded);
  const int64_t frames = decoded.frames();
  mix_down_in_place(decoded.samples.data(), frames, decoded.channels);
  if (decoded.sample_rate == sample_rate) {
    decoded.samples.resize(static_cast<size_t>(frames));
    std::swap(mono, decoded.samples);
  } else {
    resample_into(decoded.samples.data(), static_cast<size_t>(frames), decoded.sample_rate, sample_rate, mono);
  }
  if (decoded.samples.capacity() > kKeptSamples) std::vector<float>().swap(decoded.samples);
}

void write_wav(const std::string& path, const Audio& audio) {
  const std::string where = "write_wav(" + path + ")";
  check(audio.sample_rate > 0, where, "sample rate must be positive, got ", audio.sample_rate);
  check(audio.channels >= 1 && audio.samples.size() % static_cast<size_t>(audio.channels) == 0, where,
        audio.samples.size(), " samples do not make whole frames of ", audio.channels, " channels");
  const std::string temp = path + ".tmp";
  SF_INFO info{};
  info.samplerate = audio.sample_rate;
  info.channels = audio.channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  {
    SndfilePtr file(sf_open(temp.c_str(), SFM_WRITE, &info));
    check(file != nullptr, where, "cannot create ", temp, ": ", sf_strerror(nullptr));
    // Clip rather than wrap values outside [-1, 1] when converting to 16 bits.
    sf_command(file.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);
    const sf_count_t written = sf_writef_float(file.get(), audio.samples.data(), audio.frames());
    check(written == audio.frames(), where, "wrote ", written, " of ", audio.frames(), " frames: ",
          sf_strerror(file.get()));
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  check(!ec, where, "cannot rename ", temp, ": ", ec.message());
}

}  // namespace timbre::data
