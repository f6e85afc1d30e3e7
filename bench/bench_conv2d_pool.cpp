// The fused Conv2D + LeakyReLU + MaxPool2D at the seed models' shapes (batch
// 128), each next to the same work done by the three unfused kernels
// ("<label>_unfused"), so that one run gives the fusion's gain. GFLOP/s counts
// the convolution's multiply-adds over the pooled windows, forward only.
#include "bench_common.h"
#include "kernels/dispatch.h"

using namespace timbre;
using kernels::ConvPoolGeometry;

namespace {
struct LayerShape {
  const char* label;
  int64_t h, w, cin, k, cout, pool;
  float negative_slope;
  bool data_gradient;  // the layer's input needs a gradient (P1.2's second convolution)
};

ConvPoolGeometry geometry(const LayerShape& s) {
  ConvPoolGeometry g{};
  kernels::Conv2dGeometry& c = g.conv;
  c.batch = 128, c.in_h = s.h, c.in_w = s.w, c.in_c = s.cin, c.kernel_h = c.kernel_w = s.k, c.out_c = s.cout;
  c.stride_h = c.stride_w = 1, c.out_h = s.h - s.k + 1, c.out_w = s.w - s.k + 1;
  g.pool_h = g.pool_w = s.pool, g.out_h = c.out_h / s.pool, g.out_w = c.out_w / s.pool;
  return g;
}

struct Buffers {
  Tensor x, w, b, y, argmax, gx, gw, gb, conv, activated, gconv;
  explicit Buffers(const ConvPoolGeometry& g, const LayerShape& s)
      : x(bench::uniform({g.conv.batch, s.h, s.w, s.cin}, 1)),
        w(bench::uniform({s.k, s.k, s.cin, s.cout}, 2)),
        b(bench::uniform({s.cout}, 3)),
        y(bench::uniform({g.conv.batch, g.out_h, g.out_w, s.cout}, 4)),
        argmax(Tensor::zeros_like(y)),
        gx(Tensor::zeros_like(x)),
        gw(Tensor::zeros_like(w)),
        gb(Tensor::zeros_like(b)),
        conv(Tensor::zeros({g.conv.batch, g.conv.out_h, g.conv.out_w, s.cout})),
        activated(Tensor::zeros_like(conv)),
        gconv(Tensor::zeros_like(conv)) {}
};

kernels::Pool2dGeometry pool_geometry(const ConvPoolGeometry& g) {
  return {g.conv.batch, g.conv.out_h, g.conv.out_w, g.conv.out_c, g.out_h, g.out_w, g.pool_h, g.pool_w, g.pool_h,
          g.pool_w};
}

void fused(benchmark::State& state, const LayerShape& s, bool backward) {
  const ConvPoolGeometry g = geometry(s);
  Buffers m(g, s);
  float* gx = s.data_gradient ? m.gx.data<float>() : nullptr;
  kernels::cpu::conv2d_pool_forward<float>(g, s.negative_slope, m.x.data<float>(), m.w.data<float>(), m.b.data<float>(),
                                           m.y.data<float>(), m.argmax.data<float>());
  for (auto _ : state) {
    if (backward)
      kernels::cpu::conv2d_pool_backward<float>(g, s.negative_slope, m.x.data<float>(), m.w.data<float>(),
                                                m.y.data<float>(), m.argmax.data<float>(), m.y.data<float>(), gx,
                                                m.gw.data<float>(), m.gb.data<float>());
    else
      kernels::cpu::conv2d_pool_forward<float>(g, s.negative_slope, m.x.data<float>(), m.w.data<float>(),
                                               m.b.data<float>(), m.y.data<float>(), m.argmax.data<float>());
    benchmark::ClobberMemory();
  }
  if (!backward)
    bench::set_gflops(state, 2.0 * static_cast<double>(g.conv.batch * g.out_h * g.pool_h * g.out_w * g.pool_w) * s.k *
                                 s.k * s.cin * s.cout);
}

// The same layers as three kernels, as the unfused ops run them in training.
void unfused(benchmark::State& state, const LayerShape& s, bool backward) {
  const ConvPoolGeometry g = geometry(s);
  const kernels::Pool2dGeometry pg = pool_geometry(g);
  Buffers m(g, s);
  const int64_t n = m.conv.numel();
  float* gx = s.data_gradient ? m.gx.data<float>() : nullptr;
  const auto forward = [&] {
    kernels::cpu::conv2d_forward<float>(g.conv, m.x.data<float>(), m.w.data<float>(), m.b.data<float>(),
                                        m.conv.data<float>());
    const float* pooled_input = m.conv.data<float>();
    if (s.negative_slope != 1.0f) {
      kernels::cpu::leaky_relu_forward<float>(n, s.negative_slope, m.conv.data<float>(), m.activated.data<float>());
      pooled_input = m.activated.data<float>();
    }
    kernels::cpu::maxpool2d_forward<float>(pg, pooled_input, m.y.data<float>(), m.argmax.data<float>());
  };
  forward();
  for (auto _ : state) {
    if (backward) {
      // The autograd engine zeroes each intermediate gradient buffer before the kernels add into it.
      kernels::cpu::fill<float>(n, 0.0f, m.gconv.data<float>());
      kernels::cpu::maxpool2d_backward<float>(pg, m.argmax.data<float>(), m.y.data<float>(), m.gconv.data<float>());
      if (s.negative_slope != 1.0f) {
        kernels::cpu::fill<float>(n, 0.0f, m.activated.data<float>());
        kernels::cpu::leaky_relu_backward<float>(n, s.negative_slope, m.conv.data<float>(), m.gconv.data<float>(),
                                                 m.activated.data<float>());
        std::swap(m.activated, m.gconv);
      }
      kernels::cpu::conv2d_backward<float>(g.conv, m.x.data<float>(), m.w.data<float>(), m.gconv.data<float>(), gx,
                                           m.gw.data<float>(), m.gb.data<float>());
    } else {
      forward();
    }
    benchmark::ClobberMemory();
  }
  if (!backward)
    bench::set_gflops(state, 2.0 * static_cast<double>(g.conv.batch * g.out_h * g.pool_h * g.out_w * g.pool_w) * s.k *
                                 s.k * s.cin * s.cout);
}

const bool registered = [] {
  for (const LayerShape& s : {LayerShape{"p11_conv8x8_pool4", 80, 80, 1, 8, 3, 4, 0.3f, false},
                          LayerShape{"p11_conv4x4_pool2", 80, 80, 1, 4, 4, 2, 0.3f, false},
                          LayerShape{"p12_conv1_pool2", 80, 80, 1, 4, 8, 2, 1.0f, false},
                          LayerShape{"p12_conv2_pool2", 38, 38, 8, 3, 6, 2, 1.0f, true}}) {
    const std::string unfused_label = std::string(s.label) + "_unfused";
    bench::add("conv2d_pool", "fwd", s.label, [s](benchmark::State& st) { fused(st, s, false); });
    bench::add("conv2d_pool", "fwd", unfused_label, [s](benchmark::State& st) { unfused(st, s, false); });
    bench::add("conv2d_pool", "bwd", s.label, [s](benchmark::State& st) { fused(st, s, true); });
    bench::add("conv2d_pool", "bwd", unfused_label, [s](benchmark::State& st) { unfused(st, s, true); });
  }
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
