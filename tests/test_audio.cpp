// Decoding (WAV, AU, FLAC, OGG, MP3 through libsndfile), mixdown, soxr
// resampling, WAV writing, and bad files: each a timbre::Error naming the file.
#include <sndfile.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "data_test_support.h"
#include "timbre/data/audio.h"
#include "timbre/data/features.h"

using namespace timbre;
using namespace timbre::data;
using timbre::testing::ScratchDir;
using timbre::testing::tone;

namespace {

// Writes interleaved audio in any libsndfile format (the library itself writes only WAV).
void write_with_sndfile(const std::string& path, const std::vector<float>& interleaved, int rate, int channels,
                        int format) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  REQUIRE(sf_format_check(&info));
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  REQUIRE(f != nullptr);
  REQUIRE(sf_writef_float(f, interleaved.data(), static_cast<sf_count_t>(interleaved.size() / channels)) ==
          static_cast<sf_count_t>(interleaved.size() / channels));
  sf_close(f);
}

double rms(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += static_cast<double>(v) * v;
  return std::sqrt(s / static_cast<double>(x.size()));
}

}  // namespace

TEST_CASE("write_wav and read_audio round-trip 16-bit mono", "[audio]") {
  ScratchDir dir("audio-roundtrip");
  const std::vector<float> x = tone(440, 0.5);
  write_wav(dir / "a.wav", x, 22050);
  CHECK_FALSE(std::filesystem::exists(dir / "a.wav.tmp"));
  const Audio a = read_audio(dir / "a.wav");
  CHECK(a.sample_rate == 22050);
  CHECK(a.channels == 1);
  REQUIRE(a.samples.size() == x.size());
  for (size_t i = 0; i < x.size(); ++i) REQUIRE(std::abs(a.samples[i] - x[i]) <= 1.0f / 32768);
}

TEST_CASE("every supported container decodes", "[audio]") {
  ScratchDir dir("audio-formats");
  const std::vector<float> x = tone(660, 1.0);
  const double x_rms = rms(x);
  struct Case {
    const char* name;
    int format;
    bool lossy;
  };
  for (const Case& c : {Case{"a.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, false},
                        Case{"a.au", SF_FORMAT_AU | SF_FORMAT_PCM_16, false},
                        Case{"a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, false},
                        Case{"a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, true},
                        Case{"a.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, true}}) {
    INFO(c.name);
    write_with_sndfile(dir / c.name, x, 22050, 1, c.format);
    const Audio a = read_audio(dir / c.name);
    CHECK(a.sample_rate == 22050);
    CHECK(a.channels == 1);
    if (c.lossy) {
      // Codec delay and padding change the length a little; the tone's level survives.
      CHECK(std::abs(a.frames() - static_cast<int64_t>(x.size())) < 3000);
      CHECK(rms(a.samples) == Approx(x_rms).epsilon(0.1));
    } else {
      REQUIRE(a.frames() == static_cast<int64_t>(x.size()));
      for (size_t i = 0; i < x.size(); ++i) REQUIRE(std::abs(a.samples[i] - x[i]) <= 1.0f / 32768);
    }
  }
}

TEST_CASE("16-bit PCM decodes to exactly what sf_readf_float gives", "[audio]") {
  // read_audio takes 16-bit PCM as integers and scales them itself; the values must not move by a bit.
  ScratchDir dir("audio-pcm16");
  std::vector<int16_t> stored;  // stereo, the extremes of the 16-bit range first
  stored.insert(stored.end(), {-32768, 32767, -1, 1});
  for (int i = 0; i < 15000; ++i)
    stored.push_back(static_cast<int16_t>(std::lround(30000 * std::sin(0.01 * i) * std::cos(0.0007 * i))));
  for (const auto& [name, format] : {std::pair{"a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16},
                                     std::pair{"a.au", SF_FORMAT_AU | SF_FORMAT_PCM_16},  // big-endian
                                     std::pair{"a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16}}) {
    INFO(name);
    SF_INFO info{};
    info.samplerate = 22050;
    info.channels = 2;
    info.format = format;
    SNDFILE* out = sf_open((dir / name).c_str(), SFM_WRITE, &info);
    REQUIRE(out != nullptr);
    REQUIRE(sf_writef_short(out, stored.data(), static_cast<sf_count_t>(stored.size() / 2)) ==
            static_cast<sf_count_t>(stored.size() / 2));
    sf_close(out);
    SNDFILE* in = sf_open((dir / name).c_str(), SFM_READ, &info);
    REQUIRE(in != nullptr);
    std::vector<float> expected(static_cast<size_t>(info.frames * info.channels));
    REQUIRE(sf_readf_float(in, expected.data(), info.frames) == info.frames);
    sf_close(in);
    const Audio a = read_audio(dir / name);
    CHECK(a.channels == 2);
    CHECK(a.samples == expected);
    REQUIRE(a.samples.size() == stored.size());
    for (size_t i = 0; i < stored.size(); ++i) REQUIRE(a.samples[i] == static_cast<float>(stored[i]) / 32768.0f);
  }
}

TEST_CASE("load_mono into a reused buffer gives what a fresh one does", "[audio]") {
  ScratchDir dir("audio-reuse");
  write_wav(dir / "long.wav", tone(300, 1.0), 22050);
  write_wav(dir / "short.wav", tone(700, 0.3), 22050);
  std::vector<float> interleaved;
  for (float v : tone(500, 0.5, 44100)) interleaved.insert(interleaved.end(), {v, 0.5f * v});
  write_wav(dir / "stereo.wav", Audio{interleaved, 44100, 2});
  std::vector<float> reused;
  for (const char* name : {"long.wav", "short.wav", "stereo.wav", "long.wav"}) {
    INFO(name);
    load_mono(dir / name, 22050, reused);
    CHECK(reused == load_mono(dir / name, 22050));
  }
  CHECK_THROWS_WITH(load_mono(dir / "missing.wav", 22050, reused), Catch::Contains("missing.wav"));
}

TEST_CASE("stereo at 44.1 kHz is mixed down and resampled to 22050 Hz", "[audio]") {
  ScratchDir dir("audio-stereo");
  const std::vector<float> left = tone(500, 1.0, 44100, 0.6), right = tone(500, 1.0, 44100, 0.2);
  std::vector<float> interleaved;
  for (size_t i = 0; i < left.size(); ++i) interleaved.insert(interleaved.end(), {left[i], right[i]});
  write_with_sndfile(dir / "s.wav", interleaved, 44100, 2, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  const Audio a = read_audio(dir / "s.wav");
  CHECK(a.channels == 2);
  const std::vector<float> mono = mix_to_mono(a);
  for (size_t i = 0; i < mono.size(); i += 97) REQUIRE(mono[i] == Approx(0.5f * (left[i] + right[i])).margin(1e-7));
  const std::vector<float> y = load_mono(dir / "s.wav", 22050);
  REQUIRE(y.size() == 22050);
  // A 500 Hz tone of amplitude 0.4 after resampling: compare away from the filter's edge effects.
  const std::vector<float> expected = tone(500, 1.0, 22050, 0.4);
  for (size_t i = 1000; i < 21000; ++i) REQUIRE(y[i] == Approx(expected[i]).margin(2e-3));
}

TEST_CASE("resample keeps length ceil(n * to / from) and rejects bad rates", "[audio]") {
  const std::vector<float> x(1001, 0.25f);
  CHECK(resample(x, 44100, 22050).size() == 501);
  CHECK(resample(x, 16000, 22050).size() == 1380);
  CHECK(resample(x, 22050, 22050) == x);
  CHECK_THROWS_WITH(resample(x, 0, 22050), Catch::Contains("sample rates must be positive"));
  CHECK_THROWS_WITH(resample(x, 4, 22050), Catch::Contains("differ by more than a factor of 256"));
  CHECK_THROWS_WITH(resample(x, 22050, 8), Catch::Contains("differ by more than a factor of 256"));
}

TEST_CASE("bad audio files give errors naming the file and the problem", "[audio][bad-input]") {
  ScratchDir dir("audio-bad");
  write_wav(dir / "good.wav", tone(440, 1.0), 22050);
  const auto good_size = std::filesystem::file_size(dir / "good.wav");

  CHECK_THROWS_WITH(read_audio(dir / "missing.wav"), Catch::Contains("missing.wav") && Catch::Contains("no such file"));

  // A corrupt header: the RIFF magic overwritten.
  {
    std::ifstream in(dir / "good.wav", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    bytes.replace(0, 4, "RIFX");
    bytes.replace(8, 4, "JUNK");
    timbre::testing::write_text(dir / "corrupt.wav", bytes);
  }
  CHECK_THROWS_WITH(read_audio(dir / "corrupt.wav"), Catch::Contains("corrupt.wav") && Catch::Contains("cannot decode"));

  // A truncated file: the header promises 44100 bytes of samples, 20000 bytes remain.
  timbre::testing::copy_prefix(dir / "good.wav", dir / "truncated.wav", 20000);
  CHECK_THROWS_WITH(read_audio(dir / "truncated.wav"),
                    Catch::Contains("truncated.wav") && Catch::Contains("truncated") && Catch::Contains("44100"));
  // The header alone, cut before the data chunk.
  timbre::testing::copy_prefix(dir / "good.wav", dir / "header_only.wav", 30);
  CHECK_THROWS_WITH(read_audio(dir / "header_only.wav"), Catch::Contains("header_only.wav"));
  // Text in a .wav name, and an empty file.
  timbre::testing::write_text(dir / "text.wav", "this is not audio at all, just some words in a file");
  CHECK_THROWS_WITH(read_audio(dir / "text.wav"), Catch::Contains("text.wav") && Catch::Contains("cannot decode"));
  timbre::testing::write_text(dir / "empty.au", "");
  CHECK_THROWS_WITH(read_audio(dir / "empty.au"), Catch::Contains("empty.au"));
  // A header claiming 4 Hz (found by fuzz_audio: resampling it to 22050 Hz asked for gigabytes).
  write_wav(dir / "four_hertz.wav", tone(1, 0.001), 4);
  CHECK_THROWS_WITH(read_audio(dir / "four_hertz.wav"),
                    Catch::Contains("four_hertz.wav") && Catch::Contains("sample rate 4 Hz is outside"));
  // The whole file is still fine.
  CHECK(read_audio(dir / "good.wav").frames() == static_cast<int64_t>(good_size - 44) / 2);
}

TEST_CASE("patches_from_file cuts clips of any length, and names the ones it cannot use", "[audio][bad-input]") {
  ScratchDir dir("audio-short");
  write_wav(dir / "short.wav", tone(440, 2.0), 22050);  // 87 frames, 15 x 80 needed by the seed's features
  try {
    patches_from_file(dir / "short.wav", FeatureOptions::seed());
    FAIL("the seed's features accepted a clip too short for 15 patches");
  } catch (const ClipError& e) {
    CHECK(e.problem() == ClipProblem::too_short);
    CHECK_THAT(e.what(), Catch::Contains("short.wav") && Catch::Contains("clip too short") && Catch::Contains("1200"));
  }
  // The defaults: as many patches as fit, at least one (padded).
  CHECK(patches_from_file(dir / "short.wav").shape() == Shape{1, 80, 80, 1});
  write_wav(dir / "long.wav", tone(440, 20.0), 22050);  // 862 frames: 10 patches of 80
  CHECK(patches_from_file(dir / "long.wav").shape() == Shape{10, 80, 80, 1});
  FeatureOptions half_overlap;
  half_overlap.patch.patch_hop = 40;  // 1 + (862 - 80) / 40
  CHECK(patches_from_file(dir / "long.wav", half_overlap).dim(0) == 20);
  // Below the minimum length, silent, or with NaN samples: a ClipError of that kind naming the file.
  const auto problem = [](const std::string& path, const FeatureOptions& f = {}) {
    try {
      patches_from_file(path, f);
    } catch (const ClipError& e) {
      CHECK_THAT(e.what(), Catch::Contains(path));
      return e.problem();
    }
    FAIL("no ClipError for " << path);
    return ClipProblem::unreadable;
  };
  write_wav(dir / "blip.wav", tone(440, 0.5), 22050);
  CHECK(problem(dir / "blip.wav") == ClipProblem::too_short);
  FeatureOptions no_minimum;
  no_minimum.min_clip_seconds = 0;
  CHECK(patches_from_file(dir / "blip.wav", no_minimum).dim(0) == 1);
  write_wav(dir / "silent.wav", std::vector<float>(44100, 0.0f), 22050);
  CHECK(problem(dir / "silent.wav") == ClipProblem::silent);
  std::vector<float> nan_clip = tone(440, 2.0);
  nan_clip[1000] = std::nanf("");
  CHECK_THROWS_AS(FeatureExtractor().from_audio(nan_clip, "nan.wav"), ClipError);
  CHECK_THROWS_WITH(FeatureExtractor().from_audio(nan_clip, "nan.wav"),
                    Catch::Contains("nan.wav") && Catch::Contains("NaN or infinite"));
  CHECK(problem(dir / "missing.wav") == ClipProblem::unreadable);
}
