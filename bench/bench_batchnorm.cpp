// BatchNormalization (training statistics) forward and backward at P2's shapes (batch 128), in GB/s.
#include "bench_common.h"
#include "kernels/dispatch.h"

using namespace timbre;

namespace {
void batchnorm(benchmark::State& state, int64_t hw, int64_t c, bool backward) {
  const kernels::BatchNormGeometry g{128 * hw, c};
  const Tensor x = bench::uniform({g.rows, c}, 1), y = Tensor::zeros_like(x), gx = Tensor::zeros_like(x);
  const Tensor gamma = Tensor::ones({c}), beta = Tensor::zeros({c}), mean = Tensor::zeros({c}),
               inv_std = Tensor::ones({c}), moving_mean = Tensor::zeros({c}), moving_var = Tensor::ones({c});
  const Tensor ggamma = Tensor::zeros({c}), gbeta = Tensor::zeros({c});
  for (auto _ : state) {
    if (backward)
      kernels::cpu::batchnorm_backward_train<float>(g, x.data<float>(), gamma.data<float>(), mean.data<float>(),
                                                    inv_std.data<float>(), y.data<float>(), gx.data<float>(),
                                                    ggamma.data<float>(), gbeta.data<float>());
    else
      kernels::cpu::batchnorm_forward_train<float>(g, 1e-3f, 0.99f, x.data<float>(), gamma.data<float>(),
                                                   beta.data<float>(), y.data<float>(), mean.data<float>(),
                                                   inv_std.data<float>(), moving_mean.data<float>(),
                                                   moving_var.data<float>());
    benchmark::ClobberMemory();
  }
  bench::set_gbytes(state, 4.0 * static_cast<double>(x.numel()) * (backward ? 3 : 2));
}

const bool registered = [] {
  bench::add("batchnorm", "fwd", "p2_bn1", [](benchmark::State& st) { batchnorm(st, 80 * 80, 8, false); });
  bench::add("batchnorm", "bwd", "p2_bn1", [](benchmark::State& st) { batchnorm(st, 80 * 80, 8, true); });
  bench::add("batchnorm", "fwd", "p2_bn2", [](benchmark::State& st) { batchnorm(st, 40 * 40, 6, false); });
  bench::add("batchnorm", "bwd", "p2_bn2", [](benchmark::State& st) { batchnorm(st, 40 * 40, 6, true); });
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
