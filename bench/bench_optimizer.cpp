// SGD-momentum and Adam steps and gradient clipping over P2's 245,894 parameters (one fused pass over the arena), in GB/s.
#include <cmath>

#include "bench_common.h"
#include "kernels/dispatch.h"

using namespace timbre;

namespace {
constexpr int64_t kP2Parameters = 245894;

void optimizer(benchmark::State& state, bool adam) {
  const int64_t n = kP2Parameters;
  const Tensor g = bench::uniform({n}, 1), w = bench::uniform({n}, 2), m = Tensor::zeros({n}), v = Tensor::zeros({n});
  int64_t step = 0;
  for (auto _ : state) {
    if (adam)
      kernels::cpu::adam_update<float>(n, 1e-3f, 0.9f, 0.999f, 1e-7f, ++step, g.data<float>(), w.data<float>(),
                                       m.data<float>(), v.data<float>());
    else
      kernels::cpu::sgd_update<float>(n, 0.01f, 0.9f, false, g.data<float>(), w.data<float>(), m.data<float>());
    benchmark::ClobberMemory();
  }
  bench::set_gbytes(state, 4.0 * static_cast<double>(n) * (adam ? 7 : 5));  // reads and writes per element
}

// Clipping to half the norm (the sum of squares, then the scale), with an axpy that doubles the gradients
// again so that every iteration clips: 3 reads and 2 writes per element in all.
void clip(benchmark::State& state) {
  const int64_t n = kP2Parameters;
  const Tensor g = bench::uniform({n}, 3);
  double norm = 0;
  for (float v : g.to_vector<float>()) norm += static_cast<double>(v) * v;
  const auto half = static_cast<float>(std::sqrt(norm) / 2);
  for (auto _ : state) {
    kernels::cpu::clip_by_global_norm<float>(n, half, g.data<float>());
    kernels::cpu::axpy<float>(n, 1.0f, g.data<float>(), g.data<float>());
    benchmark::ClobberMemory();
  }
  bench::set_gbytes(state, 4.0 * static_cast<double>(n) * 5);
}

const bool registered = [] {
  bench::add("sgd_update", "fwd", "p2_params", [](benchmark::State& st) { optimizer(st, false); });
  bench::add("adam_update", "fwd", "p2_params", [](benchmark::State& st) { optimizer(st, true); });
  bench::add("clip_by_global_norm", "fwd", "p2_params", clip);
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
