// timbre's SGEMM (kernels::cpu::gemm), the yardstick of every FLOP-bound
// kernel: a large square product and the LSTM's per-step shapes.
#include "bench_common.h"
#include "kernels/dispatch.h"

using namespace timbre;

namespace {
void sgemm(benchmark::State& state, int64_t m, int64_t n, int64_t k, bool trans_b) {
  const Tensor a = bench::uniform({m, k}, 1), b = bench::uniform({k, n}, 2), c = Tensor::zeros({m, n});
  for (auto _ : state) {
    kernels::cpu::gemm<float>(false, trans_b, m, n, k, 1.f, a.data<float>(), k, b.data<float>(), trans_b ? k : n, 0.f,
                              c.data<float>(), n);
    benchmark::DoNotOptimize(c.data<float>());
  }
  bench::set_gflops(state, 2.0 * static_cast<double>(m * n * k));
}

const bool registered = [] {
  struct Shape3 {
    const char* label;
    int64_t m, n, k;
    bool trans_b;
  };
  for (const Shape3& s : {Shape3{"1024x1024x1024", 1024, 1024, 1024, false},
                          Shape3{"lstm_128x512x128", 128, 512, 128, false},
                          Shape3{"lstm_128x128x512_bT", 128, 128, 512, true}})
    bench::add("sgemm", "fwd", s.label, [s](benchmark::State& st) { sgemm(st, s.m, s.n, s.k, s.trans_b); });
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
