// Audio files in and out: decoding with libsndfile (WAV, AU, FLAC, OGG, MP3),
// mixing down to mono and resampling with soxr at its high quality, as
// librosa.load does. Every failure is a timbre::Error naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace timbre::data {

// Decoded audio, samples interleaved by channel, in [-1, 1].
struct Audio {
  std::vector<float> samples;
  int sample_rate = 0;
  int channels = 0;

  int64_t frames() const { return channels > 0 ? static_cast<int64_t>(samples.size()) / channels : 0; }
};

// Sample rates read_audio accepts, and the largest ratio resample bridges: a header
// claiming, say, 4 Hz would otherwise ask the resampler for thousands of output
// samples per input sample (gigabytes from a small file).
inline constexpr int kMinSampleRate = 1000, kMaxSampleRate = 1'000'000;
inline constexpr double kMaxResampleRatio = 256;

// Decodes a whole file. Throws timbre::Error when the file is missing,
// unreadable, of an unknown format, truncated (the header promises more
// audio than the file holds), or at a sample rate outside the range above.
Audio read_audio(const std::string& path);

// The mean over channels of interleaved audio, as librosa.to_mono (mono audio is moved, not copied).
std::vector<float> mix_to_mono(Audio audio);

// Resamples mono audio with soxr (quality HQ, as librosa's default
// res_type 'soxr_hq'); the result has ceil(n * to / from) samples.
std::vector<float> resample(std::vector<float> mono, double from_rate, double to_rate);

// read_audio + mix_to_mono + resample to `sample_rate`: what librosa.load(path, sr=sample_rate) returns.
std::vector<float> load_mono(const std::string& path, int sample_rate);
// The same into `mono`, reusing its memory: for decoding many files through one
// buffer per thread, which spares the page faults of fresh multi-megabyte
// allocations (about 650 per 30 s clip at 22050 Hz).
void load_mono(const std::string& path, int sample_rate, std::vector<float>& mono);

// Writes audio as a 16-bit PCM WAV file (GTZAN's format) through a temporary
// file that is renamed into place. Samples are clipped to [-1, 1].
void write_wav(const std::string& path, const Audio& audio);
inline void write_wav(const std::string& path, const std::vector<float>& mono, int sample_rate) {
  write_wav(path, Audio{mono, sample_rate, 1});
}

}  // namespace timbre::data
