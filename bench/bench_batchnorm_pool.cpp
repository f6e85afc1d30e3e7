// The fused training-mode BatchNorm + LeakyReLU + MaxPool2D at P2's shapes
// (batch 128), each next to the same work done by the three unfused kernels
// ("<label>_unfused"), as the autograd engine runs them (intermediate gradient
// buffers zeroed before the kernels add into them). Memory-bound: compare times.
#include "bench_common.h"
#include "kernels/dispatch.h"

using namespace timbre;

namespace {
struct LayerShape {
  const char* label;
  int64_t hw, c;
};

struct Buffers {
  kernels::Pool2dGeometry g;
  Tensor x, y, argmax, gy, gx, normalised, activated, gnormalised, gactivated;
  Tensor gamma, beta, mean, inv_std, moving_mean, moving_var, ggamma, gbeta;
  explicit Buffers(const LayerShape& s)
      : g{128, s.hw, s.hw, s.c, s.hw / 2, s.hw / 2, 2, 2, 2, 2},
        x(bench::uniform({128, s.hw, s.hw, s.c}, 1)),
        y(Tensor::zeros({128, s.hw / 2, s.hw / 2, s.c})),
        argmax(Tensor::zeros_like(y)),
        gy(bench::uniform(y.shape(), 2)),
        gx(Tensor::zeros_like(x)),
        normalised(Tensor::zeros_like(x)),
        activated(Tensor::zeros_like(x)),
        gnormalised(Tensor::zeros_like(x)),
        gactivated(Tensor::zeros_like(x)),
        gamma(bench::uniform({s.c}, 3, 0.5, 1.5)),
        beta(bench::uniform({s.c}, 4)),
        mean(Tensor::zeros({s.c})),
        inv_std(Tensor::ones({s.c})),
        moving_mean(Tensor::zeros({s.c})),
        moving_var(Tensor::ones({s.c})),
        ggamma(Tensor::zeros({s.c})),
        gbeta(Tensor::zeros({s.c})) {}
  float* f(const Tensor& t) const { return t.data<float>(); }
};

constexpr float kSlope = 0.3f, kEps = 1e-3f, kMomentum = 0.99f;

void fused(benchmark::State& state, const LayerShape& s, bool backward) {
  Buffers m(s);
  const auto forward = [&] {
    kernels::cpu::batchnorm_pool_forward_train<float>(m.g, kEps, kMomentum, kSlope, m.f(m.x), m.f(m.gamma),
                                                      m.f(m.beta), m.f(m.y), m.f(m.argmax), m.f(m.mean),
                                                      m.f(m.inv_std), m.f(m.moving_mean), m.f(m.moving_var));
  };
  forward();
  for (auto _ : state) {
    if (backward)
      kernels::cpu::batchnorm_pool_backward_train<float>(m.g, kSlope, m.f(m.x), m.f(m.gamma), m.f(m.mean),
                                                         m.f(m.inv_std), m.f(m.y), m.f(m.argmax), m.f(m.gy),
                                                         m.f(m.gx), m.f(m.ggamma), m.f(m.gbeta));
    else
      forward();
    benchmark::ClobberMemory();
  }
}

void unfused(benchmark::State& state, const LayerShape& s, bool backward) {
  Buffers m(s);
  const kernels::BatchNormGeometry bg{128 * s.hw * s.hw, s.c};
  const int64_t n = m.x.numel();
  const auto forward = [&] {
    kernels::cpu::batchnorm_forward_train<float>(bg, kEps, kMomentum, m.f(m.x), m.f(m.gamma), m.f(m.beta),
                                                 m.f(m.normalised), m.f(m.mean), m.f(m.inv_std),
                                                 m.f(m.moving_mean), m.f(m.moving_var));
    kernels::cpu::leaky_relu_forward<float>(n, kSlope, m.f(m.normalised), m.f(m.activated));
    kernels::cpu::maxpool2d_forward<float>(m.g, m.f(m.activated), m.f(m.y), m.f(m.argmax));
  };
  forward();
  for (auto _ : state) {
    if (backward) {
      kernels::cpu::fill<float>(n, 0.0f, m.f(m.gactivated));
      kernels::cpu::maxpool2d_backward<float>(m.g, m.f(m.argmax), m.f(m.gy), m.f(m.gactivated));
      kernels::cpu::fill<float>(n, 0.0f, m.f(m.gnormalised));
      kernels::cpu::leaky_relu_backward<float>(n, kSlope, m.f(m.normalised), m.f(m.gactivated), m.f(m.gnormalised));
      kernels::cpu::batchnorm_backward_train<float>(bg, m.f(m.x), m.f(m.gamma), m.f(m.mean), m.f(m.inv_std),
                                                    m.f(m.gnormalised), m.f(m.gx), m.f(m.ggamma), m.f(m.gbeta));
    } else {
      forward();
    }
    benchmark::ClobberMemory();
  }
}

const bool registered = [] {
  for (const LayerShape& s : {LayerShape{"p2_bn1_pool2", 80, 8}, LayerShape{"p2_bn2_pool2", 40, 6}}) {
    const std::string unfused_label = std::string(s.label) + "_unfused";
    bench::add("batchnorm_pool", "fwd", s.label, [s](benchmark::State& st) { fused(st, s, false); });
    bench::add("batchnorm_pool", "fwd", unfused_label, [s](benchmark::State& st) { unfused(st, s, false); });
    bench::add("batchnorm_pool", "bwd", s.label, [s](benchmark::State& st) { fused(st, s, true); });
    bench::add("batchnorm_pool", "bwd", unfused_label, [s](benchmark::State& st) { unfused(st, s, true); });
  }
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
