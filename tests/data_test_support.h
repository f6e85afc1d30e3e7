// Helpers for the data-pipeline tests: a scratch folder removed afterwards, test tones, and
// a check that a reader's error names what it should.
#pragma once

#include <unistd.h>

#include <sndfile.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "timbre/core/error.h"

namespace timbre::testing {

// A fresh folder under the system temp dir, unique per process and name, removed on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / ("timbre-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::vector<float> tone(double hz, double seconds, int sample_rate = 22050, double amplitude = 0.5) {
  std::vector<float> x(static_cast<size_t>(seconds * sample_rate));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * hz * static_cast<double>(i) / sample_rate));
  return x;
}

// The first `bytes` bytes of `from`, written to `to` (a truncated copy).
inline void copy_prefix(const std::string& from, const std::string& to, size_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::string data(bytes, '\0');
  in.read(data.data(), static_cast<std::streamsize>(bytes));
  data.resize(static_cast<size_t>(in.gcount()));
  std::ofstream(to, std::ios::binary) << data;
}

// Mono audio written in a libsndfile format (SF_FORMAT_FLAC | SF_FORMAT_PCM_16, SF_FORMAT_OGG | SF_FORMAT_VORBIS, ...).
inline void write_audio(const std::string& path, const std::vector<float>& mono, int sample_rate, int format) {
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = format;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  REQUIRE(file != nullptr);
  CHECK(sf_writef_float(file, mono.data(), static_cast<sf_count_t>(mono.size())) ==
        static_cast<sf_count_t>(mono.size()));
  sf_close(file);
}

inline void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Expects `fn` to throw a timbre::Error whose message holds every piece of `parts`.
template <class Fn>
void expect_error(Fn&& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    FAIL("no timbre::Error thrown");
  } catch (const timbre::Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
  }
}

}  // namespace timbre::testing
