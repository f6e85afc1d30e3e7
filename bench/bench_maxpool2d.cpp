// MaxPooling2D forward and backward at the seed models' shapes (batch 128); memory-bound, so GB/s.
#include "bench_common.h"
#include "kernels/dispatch.h"

using namespace timbre;

namespace {
struct PoolShape {
  const char* label;
  int64_t h, w, c, pool;
};

void pool(benchmark::State& state, const PoolShape& s, bool backward) {
  kernels::Pool2dGeometry g{128, s.h, s.w, s.c, s.h / s.pool, s.w / s.pool, s.pool, s.pool, s.pool, s.pool};
  const Tensor x = bench::uniform({128, s.h, s.w, s.c}, 1), y = Tensor::zeros({128, g.out_h, g.out_w, s.c});
  const Tensor argmax = Tensor::zeros_like(y), gx = Tensor::zeros_like(x);
  kernels::cpu::maxpool2d_forward<float>(g, x.data<float>(), y.data<float>(), argmax.data<float>());
  for (auto _ : state) {
    if (backward)
      kernels::cpu::maxpool2d_backward<float>(g, argmax.data<float>(), y.data<float>(), gx.data<float>());
    else
      kernels::cpu::maxpool2d_forward<float>(g, x.data<float>(), y.data<float>(), argmax.data<float>());
    benchmark::ClobberMemory();
  }
  // Forward (training): reads x, writes y and argmax. Backward: reads argmax and gy, adds into gx.
  const double bytes = 4.0 * static_cast<double>(backward ? 2 * y.numel() + x.numel() : x.numel() + 2 * y.numel());
  bench::set_gbytes(state, bytes);
}

const bool registered = [] {
  for (const PoolShape& s : {PoolShape{"p11_pool4", 73, 73, 3, 4}, PoolShape{"p11_pool2", 77, 77, 4, 2},
                             PoolShape{"p2_pool1", 80, 80, 8, 2}, PoolShape{"p2_pool2", 40, 40, 6, 2}}) {
    bench::add("maxpool2d", "fwd", s.label, [s](benchmark::State& st) { pool(st, s, false); });
    bench::add("maxpool2d", "bwd", s.label, [s](benchmark::State& st) { pool(st, s, true); });
  }
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
