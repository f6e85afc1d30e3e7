// Native GPU benchmarks of the shipped CUDA kernels (kernels::cuda), timed with
// CUDA events: GFLOP/s for GEMM and Conv2D, GB/s for the memory-bound kernels.
// cuBLAS SGEMM runs in the same binary as the yardstick for our GEMM. Without a
// GPU (or a build without TIMBRE_CUDA_KERNELS) every benchmark skips with the reason.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "timbre/timbre.h"

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

void BM_cuda_sgemm(benchmark::State& state) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  const int64_t n = state.range(0);
  DeviceFloats a(n * n), b(n * n), c(n * n);
  time_gpu(state, 2.0 * n * n * n, 0, [&] {
    kernels::cuda::gemm<float>(false, false, n, n, n, 1.0f, a.get(), n, b.get(), n, 0.0f, c.get(), n);
  });
#endif
}
BENCHMARK(BM_cuda_sgemm)->Arg(512)->Arg(1024)->Arg(2048)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cublas_sgemm(benchmark::State& state) {
  TIMBRE_REQUIRE_GPU(state);
#if defined(TIMBRE_WITH_CUDA_KERNELS) && defined(TIMBRE_BENCH_CUBLAS)
  const int n = static_cast<int>(state.range(0));
  DeviceFloats a(int64_t{n} * n), b(int64_t{n} * n), c(int64_t{n} * n);
  cublasHandle_t handle;
  cublasCreate(&handle);
  const float one = 1.0f, zero = 0.0f;
  // Row-major C = A.B is column-major C^T = B^T.A^T.
  time_gpu(state, 2.0 * n * n * n, 0, [&] {
    cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, b.get(), n, a.get(), n, &zero, c.get(), n);
  });
  cublasDestroy(handle);
#else
  state.SkipWithError("built without cuBLAS");
#endif
}
BENCHMARK(BM_cublas_sgemm)->Arg(512)->Arg(1024)->Arg(2048)->UseManualTime()->Unit(benchmark::kMicrosecond);

// A Conv2D of the genre CNN's size: 32 patches of 128x128x16 features, 3x3 "same", 32 filters.
void BM_cuda_conv2d_forward(benchmark::State& state) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  const kernels::Conv2dGeometry g{32, 128, 128, 16, 128, 128, 32, 3, 3, 1, 1, 1, 1};
  DeviceFloats x(g.batch * g.in_h * g.in_w * g.in_c), w(g.kernel_h * g.kernel_w * g.in_c * g.out_c),
      b(g.out_c), y(g.batch * g.out_h * g.out_w * g.out_c);
  const double flops = 2.0 * g.batch * g.out_h * g.out_w * g.out_c * g.kernel_h * g.kernel_w * g.in_c;
  time_gpu(state, flops, 0, [&] { kernels::cuda::conv2d_forward<float>(g, x.get(), w.get(), b.get(), y.get()); });
#endif
}
BENCHMARK(BM_cuda_conv2d_forward)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_conv2d_backward(benchmark::State& state) {
  TIMBRE_REQUIRE_GPU(state);
#ifdef TIMBRE_WITH_CUDA_KERNELS
  const kernels::Conv2dGeometry g{32, 128, 128, 16, 128, 128, 32, 3, 3, 1, 1, 1, 1};
  const int64_t xn = g.batch * g.in_h * g.in_w * g.in_c, wn = g.kernel_h * g.kernel_w * g.in_c * g.out_c;
  DeviceFloats x(xn), w(wn), gy(g.batch * g.out_h * g.out_w * g.out_c), gx(xn), gw(wn), gb(g.out_c);
  const double flops = 2 * 2.0 * g.batch * g.out_h * g.out_w * g.out_c * g.kernel_h * g.kernel_w * g.in_c;
  time_gpu(state, flops, 0, [&] {
    kernels::cuda::conv2d_backward<float>(g, x.get(), w.get(), gy.get(), gx.get(), gw.get(), gb.get());
  });
#endif
}
BENCHMARK(BM_cuda_conv2d_backward)->UseManualTime()->Unit(benchmark::kMicrosecond);

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
