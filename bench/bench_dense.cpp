// Dense forward and backward at the seed models' shapes (batch 128), in GFLOP/s.
#include "bench_common.h"
#include "kernels/dispatch.h"

using namespace timbre;

namespace {
void dense(benchmark::State& state, int64_t in, int64_t out, bool backward) {
  const int64_t rows = 128;
  const Tensor x = bench::uniform({rows, in}, 1), w = bench::uniform({in, out}, 2), b = bench::uniform({out}, 3);
  const Tensor y = Tensor::zeros({rows, out}), gx = Tensor::zeros_like(x), gw = Tensor::zeros_like(w),
               gb = Tensor::zeros_like(b);
  for (auto _ : state) {
    if (backward)
      kernels::cpu::dense_backward<float>(rows, in, out, x.data<float>(), w.data<float>(), y.data<float>(),
                                          gx.data<float>(), gw.data<float>(), gb.data<float>());
    else
      kernels::cpu::dense_forward<float>(rows, in, out, x.data<float>(), w.data<float>(), b.data<float>(),
                                         y.data<float>());
    benchmark::ClobberMemory();
  }
  bench::set_gflops(state, (backward ? 4.0 : 2.0) * static_cast<double>(rows * in * out));
}

const bool registered = [] {
  struct Case {
    const char* label;
    int64_t in, out;
  };
  for (const Case& c : {Case{"p11_6748x8", 6748, 8}, Case{"p2_64x200", 64, 200}, Case{"p12_32x200", 32, 200},
                        Case{"head_200x8", 200, 8}}) {
    bench::add("dense", "fwd", c.label, [c](benchmark::State& st) { dense(st, c.in, c.out, false); });
    bench::add("dense", "bwd", c.label, [c](benchmark::State& st) { dense(st, c.in, c.out, true); });
  }
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
