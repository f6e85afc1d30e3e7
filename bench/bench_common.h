// Shared by the kernel benchmarks: seeded inputs and throughput counters.
// Each benchmark is named BM_<op>_<fwd|bwd>/<where the shape comes from>.
#pragma once

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "timbre/timbre.h"

namespace timbre::bench {

inline Tensor uniform(const Shape& shape, uint64_t seed, double lo = -1, double hi = 1) {
  Generator g(seed);
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (float& x : v) x = static_cast<float>(g.uniform(lo, hi));
  return Tensor::from<float>(shape, v);
}

// Rates per second of wall time, invariant per iteration.
inline void set_gflops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
inline void set_gbytes(benchmark::State& state, double bytes) {
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Registers fn under "BM_<op>_<pass>/<label>", timed on wall-clock time (the kernels are multi-threaded).
template <class Fn>
void add(const std::string& op, const std::string& pass, const std::string& label, Fn fn) {
  benchmark::RegisterBenchmark(("BM_" + op + "_" + pass + "/" + label).c_str(), fn)->UseRealTime()->Unit(
      benchmark::kMicrosecond);
}

}  // namespace timbre::bench
