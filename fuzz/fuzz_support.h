// Shared by the libFuzzer targets: a scratch directory for readers that take a
// path, and the rule every target follows: a timbre::Error is the expected
// answer to bad bytes; anything else escaping (std::bad_alloc, std::length_error,
// an out-of-range access, a sanitizer report) is a crash libFuzzer records.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "timbre/core/error.h"

namespace timbre::fuzz {

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A per-process directory in RAM when /dev/shm exists (fuzzing speed), else in the
// temp directory; removed when the fuzzer exits normally (a crash leaves it for inspection).
inline const std::filesystem::path& scratch_dir() {
  struct Scratch {
    std::filesystem::path path;
    ~Scratch() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Scratch dir{[] {
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path();
    std::filesystem::path path = base / ("timbre-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    return path;
  }()};
  return dir.path;
}

inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("fuzz harness: cannot write " + path.string());
}

// Runs `parse`, swallowing timbre::Error (a clean rejection).
template <class F>
void expect_clean(F&& parse) {
  try {
    parse();
  } catch (const timbre::Error&) {
  }
}

}  // namespace timbre::fuzz
