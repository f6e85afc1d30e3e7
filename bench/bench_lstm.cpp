// LSTM and Bidirectional layers on the CPU at the seed models' shapes: forward
// (inference, no graph) and forward + backward (a training step of the layer,
// through autograd), as GFLOP/s of their GEMM work: forward 2*N*T*4u*(F+u),
// forward + backward three times that; Bidirectional twice. The yardstick,
// timed in the same binary: kernels::cpu::gemm at the LSTM's per-step shapes.
// Threads: OMP_NUM_THREADS.
#include "bench_common.h"

#include "kernels/dispatch.h"
#include "seed_shapes.h"

using namespace timbre;
using bench::set_gflops;
using bench::uniform;

namespace {

// C (m, n) = A (m, k) . op(B), B stored (k, n) or, transposed, (n, k) as the backward's per-step GEMM reads it.
void BM_sgemm(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const bool trans_b = state.range(3) != 0;
  const Tensor a = uniform({m, k}, 1), b = uniform({k, n}, 2), c = Tensor::zeros({m, n});
  for (auto _ : state) {
    kernels::cpu::gemm<float>(false, trans_b, m, n, k, 1.f, a.data<float>(), k, b.data<float>(), trans_b ? k : n,
                              0.f, c.data<float>(), n);
    benchmark::DoNotOptimize(c.data<float>());
  }
  set_gflops(state, 2.0 * static_cast<double>(m * n * k));
}

// Args: batch, steps, features, units, bidirectional, with backward.
void BM_lstm(benchmark::State& state) {
  const int64_t batch = state.range(0), steps = state.range(1), features = state.range(2), units = state.range(3);
  const bool bidirectional = state.range(4) != 0, with_backward = state.range(5) != 0;
  manual_seed(7);
  nn::ModulePtr layer = bidirectional ? nn::make_module(nn::Bidirectional(nn::LSTM(units, true)))
                                      : nn::make_module(nn::LSTM(units, true));
  layer->build({steps, features});
  Tensor x = uniform({batch, steps, features}, 3);
  if (with_backward) x.set_requires_grad();
  const Tensor upstream = uniform(Shape{batch, steps, (bidirectional ? 2 : 1) * units}, 4);
  auto step = [&] {
    if (with_backward) {
      (*layer)(x).backward(upstream);
    } else {
      NoGrad inference;
      benchmark::DoNotOptimize((*layer)(x).raw_data());
    }
  };
  step();  // warm-up: buffers of this shape
  for (auto _ : state) step();
  set_gflops(state, bench::lstm_forward_flops(batch, steps, features, units, bidirectional) * (with_backward ? 3 : 1));
}

void sgemm_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "k", "n", "trans_b"});
  for (const bench::GemmShape& s : bench::lstm_step_gemms) b->Args({s.m, s.k, s.n, s.trans_b});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

void lstm_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "T", "F", "u", "bidi", "bwd"});
  // Each seed shape both ways, whichever the seed uses.
  for (const bench::LstmShape& s : bench::seed_lstms)
    for (int64_t bidirectional : {0, 1})
      for (int64_t with_backward : {0, 1})
        b->Args({bench::kSeedBatch, s.steps, s.features, s.units, bidirectional, with_backward});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_sgemm)->Apply(sgemm_args);
BENCHMARK(BM_lstm)->Apply(lstm_args);

BENCHMARK_MAIN();
