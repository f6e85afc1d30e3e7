// Conv2D forward and backward at the seed models' layer shapes (batch 128).
#include "bench_common.h"
#include "kernels/dispatch.h"
#include "seed_shapes.h"

using namespace timbre;
using kernels::Conv2dGeometry;

namespace {
using bench::ConvShape;

void conv(benchmark::State& state, const ConvShape& s, bool backward) {
  const Conv2dGeometry g = bench::geometry(s);
  const Tensor x = bench::uniform({g.batch, g.in_h, g.in_w, g.in_c}, 1), w = bench::uniform({s.k, s.k, s.cin, s.cout}, 2),
               b = bench::uniform({s.cout}, 3), y = Tensor::zeros({g.batch, g.out_h, g.out_w, g.out_c});
  const Tensor gx = Tensor::zeros_like(x), gw = Tensor::zeros_like(w), gb = Tensor::zeros_like(b);
  for (auto _ : state) {
    if (backward)
      kernels::cpu::conv2d_backward<float>(g, x.data<float>(), w.data<float>(), y.data<float>(), gx.data<float>(),
                                           gw.data<float>(), gb.data<float>());
    else
      kernels::cpu::conv2d_forward<float>(g, x.data<float>(), w.data<float>(), b.data<float>(), y.data<float>());
    benchmark::ClobberMemory();
  }
  bench::set_gflops(state, (backward ? 4.0 : 2.0) * bench::conv_macs(g));  // backward: input and weight gradients
}

const bool registered = [] {
  for (const ConvShape& s : bench::seed_convs) {
    bench::add("conv2d", "fwd", s.label, [s](benchmark::State& st) { conv(st, s, false); });
    bench::add("conv2d", "bwd", s.label, [s](benchmark::State& st) { conv(st, s, true); });
  }
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
