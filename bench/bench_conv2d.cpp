// Conv2D forward and backward at the seed models' layer shapes (batch 128).
#include "bench_common.h"
#include "kernels/dispatch.h"

using namespace timbre;
using kernels::Conv2dGeometry;

namespace {
struct ConvShape {
  const char* label;
  int64_t h, w, cin, k, cout;
  bool same;
};

Conv2dGeometry geometry(const ConvShape& s) {
  Conv2dGeometry g{};
  g.batch = 128, g.in_h = s.h, g.in_w = s.w, g.in_c = s.cin, g.kernel_h = s.k, g.kernel_w = s.k, g.out_c = s.cout;
  g.stride_h = g.stride_w = 1;
  g.out_h = s.same ? s.h : s.h - s.k + 1, g.out_w = s.same ? s.w : s.w - s.k + 1;
  g.pad_top = s.same ? (s.k - 1) / 2 : 0, g.pad_left = g.pad_top;
  return g;
}

void conv(benchmark::State& state, const ConvShape& s, bool backward) {
  const Conv2dGeometry g = geometry(s);
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
  const double macs = static_cast<double>(g.batch * g.out_h * g.out_w) * s.k * s.k * s.cin * s.cout;
  bench::set_gflops(state, (backward ? 4.0 : 2.0) * macs);  // backward: input and weight gradients
}

const bool registered = [] {
  for (const ConvShape& s : {ConvShape{"p11_conv8x8", 80, 80, 1, 8, 3, false}, ConvShape{"p11_conv4x4", 80, 80, 1, 4, 4, false},
                             ConvShape{"p12_conv1", 80, 80, 1, 4, 8, false}, ConvShape{"p12_conv2", 38, 38, 8, 3, 6, false},
                             ConvShape{"p2_conv1", 80, 80, 1, 4, 8, true}, ConvShape{"p2_conv2", 40, 40, 8, 3, 6, true}}) {
    bench::add("conv2d", "fwd", s.label, [s](benchmark::State& st) { conv(st, s, false); });
    bench::add("conv2d", "bwd", s.label, [s](benchmark::State& st) { conv(st, s, true); });
  }
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
