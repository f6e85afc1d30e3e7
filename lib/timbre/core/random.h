// One seeded random generator for the whole library (initializers, dropout
// seeds, shuffling), so that a run is reproducible from its seed. Its state can
// be saved and restored for checkpoints.
#pragma once

#include <cstdint>
#include <random>
#include <sstream>
#include <string>

namespace timbre {

class Generator {
 public:
  explicit Generator(uint64_t seed = 42) : engine_(seed) {}
  void seed(uint64_t s) { engine_.seed(s); }
  uint64_t next_u64() { return engine_(); }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(engine_); }
  double normal(double mean = 0.0, double stddev = 1.0) {
    return std::normal_distribution<double>(mean, stddev)(engine_);
  }
  std::mt19937_64& engine() { return engine_; }

  std::string state() const {
    std::ostringstream out;
    out << engine_;
    return out.str();
  }
  void set_state(const std::string& s) {
    std::istringstream in(s);
    in >> engine_;
  }

 private:
  std::mt19937_64 engine_;
};

inline Generator& default_generator() {
  static Generator g;
  return g;
}
inline void manual_seed(uint64_t seed) { default_generator().seed(seed); }

}  // namespace timbre
