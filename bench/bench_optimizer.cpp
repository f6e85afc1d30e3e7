// SGD-momentum and Adam steps over P2's 245,894 parameters (one fused pass over the arena), in GB/s.
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

const bool registered = [] {
  bench::add("sgd_update", "fwd", "p2_params", [](benchmark::State& st) { optimizer(st, false); });
  bench::add("adam_update", "fwd", "p2_params", [](benchmark::State& st) { optimizer(st, true); });
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
