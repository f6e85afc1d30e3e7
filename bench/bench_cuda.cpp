// Native GPU benchmarks of the shipped CUDA kernels (kernels::cuda), timed with
// CUDA events: GFLOP/s for GEMM, Conv2D and the LSTM, GB/s for the memory-bound
// kernels. cuBLAS SGEMM runs in the same binary as the yardstick for our GEMM, at
// square sizes and at the LSTM's per-step shapes. The seed models' layers (batch 128,
// bench/seed_shapes.h, as the CPU benchmarks time them): BM_cuda_conv2d_<fwd|bwd>/<layer>
// and BM_cuda_lstm_<fwd|fwdbwd>/<layer> (the layer through autograd on CUDA tensors).
// Without a GPU (or a build without TIMBRE_CUDA_KERNELS) every benchmark skips with the reason.
#include <string>
#include <vector>

#include "bench_common.h"
#include "kernels/dispatch.h"
#include "seed_shapes.h"

#ifdef TIMBRE_WITH_CUDA_KERNELS
#include <cuda_runtime.h>
#ifdef TIMBRE_BENCH_CUBLAS
#include <cublas_v2.h>
#endif
#endif

using namespace timbre;

namespace {

// Why these benchmarks cannot run here, or "" when they can.
std::string unavailable() {
#ifndef TIMBRE_WITH_CUDA_KERNELS
  return "timbre was built without its CUDA kernels (TIMBRE_CUDA_KERNELS=OFF or no nvcc)";
#else
  return cuda_device_count() > 0 ? "" : "no GPU: " + cuda_unavailable_reason();
#endif
}

#ifdef TIMBRE_WITH_CUDA_KERNELS
// A device buffer of n floats, filled with small values.
class DeviceFloats {
 public:
  explicit DeviceFloats(int64_t n, float value = 0.01f) : n_(n) {
    ptr_ = static_cast<float*>(device_memory::allocate(Device::cuda(), static_cast<size_t>(n) * sizeof(float)));
    kernels::cuda::fill<float>(n, value, ptr_);
  }
  ~DeviceFloats() { device_memory::release(Device::cuda(), ptr_); }
  DeviceFloats(const DeviceFloats&) = delete;
  DeviceFloats& operator=(const DeviceFloats&) = delete;
  float* get() const { return ptr_; }

 private:
  int64_t n_;
  float* ptr_;
};

// Times body() per iteration with CUDA events; sets FLOP/s or bytes/s counters per second.
template <class Body>
void time_gpu(benchmark::State& state, double flops, double bytes, Body body) {
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  body();  // warm-up: caching allocator, first-launch overheads
  cudaDeviceSynchronize();
  for (auto _ : state) {
    cudaEventRecord(start);
    body();
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    state.SetIterationTime(ms / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  const auto rate = benchmark::Counter::kIsIterationInvariantRate;
  if (flops > 0) state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, rate);
  if (bytes > 0) state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, rate);
}
#endif

#define TIMBRE_REQUIRE_GPU(state)                  \
  if (const std::string why = unavailable(); !why.empty()) { \
    (state).SkipWithError(why.c_str());            \
    for (auto _ : (state)) {                       \
    }                                              \
    return;                                        \
  }

// Row-major C (m, n) = A (m, k) . op(B), B stored (k, n) or, transposed, (n, k).
void sgemm(benchmark::State& state, int64_t m, int64_t k, int64_t n, bool trans_b) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  DeviceFloats a(m * k), b(k * n), c(m * n);
  time_gpu(state, 2.0 * m * n * k, 0, [&] {
    kernels::cuda::gemm<float>(false, trans_b, m, n, k, 1.0f, a.get(), k, b.get(), trans_b ? k : n, 0.0f, c.get(), n);
  });
#endif
}

// The same product through cuBLAS, which is column-major: C^T (n, m) = op(B)^T . A^T.
void cublas_sgemm(benchmark::State& state, int64_t m, int64_t k, int64_t n, bool trans_b) {
  TIMBRE_REQUIRE_GPU(state);
#if defined(TIMBRE_WITH_CUDA_KERNELS) && defined(TIMBRE_BENCH_CUBLAS)
  DeviceFloats a(m * k), b(k * n), c(m * n);
  cublasHandle_t handle;
  cublasCreate(&handle);
  const float one = 1.0f, zero = 0.0f;
  const int mi = static_cast<int>(m), ki = static_cast<int>(k), ni = static_cast<int>(n);
  time_gpu(state, 2.0 * m * n * k, 0, [&] {
    cublasSgemm(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, ni, mi, ki, &one, b.get(), trans_b ? ki : ni,
                a.get(), ki, &zero, c.get(), ni);
  });
  cublasDestroy(handle);
#else
  state.SkipWithError("built without cuBLAS");
#endif
}

void BM_cuda_sgemm(benchmark::State& state) {
  sgemm(state, state.range(0), state.range(0), state.range(0), false);
}
BENCHMARK(BM_cuda_sgemm)->Arg(512)->Arg(1024)->Arg(2048)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cublas_sgemm(benchmark::State& state) {
  cublas_sgemm(state, state.range(0), state.range(0), state.range(0), false);
}
BENCHMARK(BM_cublas_sgemm)->Arg(512)->Arg(1024)->Arg(2048)->UseManualTime()->Unit(benchmark::kMicrosecond);

void conv2d_forward(benchmark::State& state, const kernels::Conv2dGeometry& g) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  DeviceFloats x(g.batch * g.in_h * g.in_w * g.in_c), w(g.kernel_h * g.kernel_w * g.in_c * g.out_c),
      b(g.out_c), y(g.batch * g.out_h * g.out_w * g.out_c);
  time_gpu(state, 2.0 * bench::conv_macs(g), 0,
           [&] { kernels::cuda::conv2d_forward<float>(g, x.get(), w.get(), b.get(), y.get()); });
#endif
}

// The input and weight gradients (and the bias's): twice the forward's multiply-adds.
void conv2d_backward(benchmark::State& state, const kernels::Conv2dGeometry& g) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  const int64_t xn = g.batch * g.in_h * g.in_w * g.in_c, wn = g.kernel_h * g.kernel_w * g.in_c * g.out_c;
  DeviceFloats x(xn), w(wn), gy(g.batch * g.out_h * g.out_w * g.out_c), gx(xn), gw(wn), gb(g.out_c);
  time_gpu(state, 4.0 * bench::conv_macs(g), 0, [&] {
    kernels::cuda::conv2d_backward<float>(g, x.get(), w.get(), gy.get(), gx.get(), gw.get(), gb.get());
  });
#endif
}

// A Conv2D of the genre CNN's size: 32 patches of 128x128x16 features, 3x3 "same", 32 filters.
constexpr kernels::Conv2dGeometry kGenreCnnConv{32, 128, 128, 16, 128, 128, 32, 3, 3, 1, 1, 1, 1};

void BM_cuda_conv2d_forward(benchmark::State& state) { conv2d_forward(state, kGenreCnnConv); }
BENCHMARK(BM_cuda_conv2d_forward)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_conv2d_backward(benchmark::State& state) { conv2d_backward(state, kGenreCnnConv); }
BENCHMARK(BM_cuda_conv2d_backward)->UseManualTime()->Unit(benchmark::kMicrosecond);

// An LSTM layer of a seed model on CUDA tensors, through autograd as training runs it: the
// forward alone (no graph), or forward and backward (three times the forward's GEMM work).
void lstm_layer(benchmark::State& state, const bench::LstmShape& s, bool with_backward) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  manual_seed(7);
  nn::ModulePtr layer = s.bidirectional ? nn::make_module(nn::Bidirectional(nn::LSTM(s.units, true)))
                                        : nn::make_module(nn::LSTM(s.units, true));
  layer->build({s.steps, s.features});
  layer->to(Device::cuda());
  Tensor x = bench::uniform({bench::kSeedBatch, s.steps, s.features}, 3).to(Device::cuda());
  if (with_backward) x.set_requires_grad();
  const Tensor upstream =
      bench::uniform({bench::kSeedBatch, s.steps, (s.bidirectional ? 2 : 1) * s.units}, 4).to(Device::cuda());
  const double flops = bench::lstm_forward_flops(bench::kSeedBatch, s.steps, s.features, s.units, s.bidirectional);
  time_gpu(state, flops * (with_backward ? 3 : 1), 0, [&] {
    if (with_backward) {
      (*layer)(x).backward(upstream);
    } else {
      NoGrad inference;
      (*layer)(x);
    }
  });
#endif
}

// Registers a benchmark timed by time_gpu's CUDA events.
template <class Fn>
void add_gpu(const std::string& name, Fn fn) {
  benchmark::RegisterBenchmark(name.c_str(), fn)->UseManualTime()->Unit(benchmark::kMicrosecond);
}

const bool seed_shapes_registered = [] {
  for (const bench::GemmShape& s : bench::lstm_step_gemms) {
    add_gpu(std::string("BM_cuda_sgemm/") + s.label, [s](benchmark::State& st) { sgemm(st, s.m, s.k, s.n, s.trans_b); });
    add_gpu(std::string("BM_cublas_sgemm/") + s.label,
            [s](benchmark::State& st) { cublas_sgemm(st, s.m, s.k, s.n, s.trans_b); });
  }
  for (const bench::ConvShape& s : bench::seed_convs) {
    add_gpu(std::string("BM_cuda_conv2d_fwd/") + s.label, [s](benchmark::State& st) { conv2d_forward(st, bench::geometry(s)); });
    add_gpu(std::string("BM_cuda_conv2d_bwd/") + s.label, [s](benchmark::State& st) { conv2d_backward(st, bench::geometry(s)); });
  }
  for (const bench::LstmShape& s : bench::seed_lstms) {
    add_gpu(std::string("BM_cuda_lstm_fwd/") + s.label, [s](benchmark::State& st) { lstm_layer(st, s, false); });
    add_gpu(std::string("BM_cuda_lstm_fwdbwd/") + s.label, [s](benchmark::State& st) { lstm_layer(st, s, true); });
  }
  return true;
}();

void BM_cuda_batchnorm_forward_train(benchmark::State& state) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  const kernels::BatchNormGeometry g{32 * 128 * 128, 32};
  const int64_t n = g.rows * g.channels;
  DeviceFloats x(n), y(n), gamma(g.channels, 1.0f), beta(g.channels), mean(g.channels), inv_std(g.channels),
      moving_mean(g.channels), moving_var(g.channels, 1.0f);
  // x read three times (two statistics passes, normalisation), y written once.
  time_gpu(state, 0, 4.0 * n * sizeof(float), [&] {
    kernels::cuda::batchnorm_forward_train<float>(g, 1e-3f, 0.99f, x.get(), gamma.get(), beta.get(), y.get(),
                                                  mean.get(), inv_std.get(), moving_mean.get(), moving_var.get());
  });
#endif
}
BENCHMARK(BM_cuda_batchnorm_forward_train)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_axpy(benchmark::State& state) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  const int64_t n = state.range(0);
  DeviceFloats x(n), y(n);
  time_gpu(state, 0, 3.0 * n * sizeof(float), [&] { kernels::cuda::axpy<float>(n, 0.5f, x.get(), y.get()); });
#endif
}
BENCHMARK(BM_cuda_axpy)->Arg(1 << 20)->Arg(1 << 24)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_softmax_forward(benchmark::State& state) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  const int64_t rows = 1 << 16, cols = state.range(0);
  DeviceFloats x(rows * cols), y(rows * cols);
  time_gpu(state, 0, 3.0 * rows * cols * sizeof(float),
           [&] { kernels::cuda::softmax_forward<float>(rows, cols, x.get(), y.get()); });
#endif
}
BENCHMARK(BM_cuda_softmax_forward)->Arg(10)->Arg(128)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_adam_update(benchmark::State& state) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  const int64_t n = 1 << 22;
  DeviceFloats g(n), w(n), m(n), v(n);
  // g read; w, m, v read and written.
  time_gpu(state, 0, 7.0 * n * sizeof(float), [&] {
    kernels::cuda::adam_update<float>(n, 1e-3f, 0.9f, 0.999f, 1e-7f, 10, g.get(), w.get(), m.get(), v.get());
  });
#endif
}
BENCHMARK(BM_cuda_adam_update)->UseManualTime()->Unit(benchmark::kMicrosecond);

// P2's gradient arena clipped to half its norm (the fixed-order norm, column_sums with one column, then the
// scale), with an axpy that doubles it again so that every iteration clips: 3 reads and 2 writes per element.
void BM_cuda_clip_by_global_norm(benchmark::State& state) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  const int64_t n = 245894;
  DeviceFloats g(n);  // 0.01 everywhere: norm 0.01 sqrt(n)
  const auto half = static_cast<float>(0.005 * std::sqrt(static_cast<double>(n)));
  time_gpu(state, 0, 5.0 * n * sizeof(float), [&] {
    kernels::cuda::clip_by_global_norm<float>(n, half, g.get());
    kernels::cuda::axpy<float>(n, 1.0f, g.get(), g.get());
  });
#endif
}
BENCHMARK(BM_cuda_clip_by_global_norm)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
