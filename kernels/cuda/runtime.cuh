// What kernels/cuda/*.cu see of the GPU. Each .cu file builds twice: by nvcc
// into kernels::cuda (real launches on device memory), and as C++ into
// kernels::emu, run by the SIMT emulator on host memory (kernels/emu/simt.h).
// Both builds share every line of kernel code and every launch through launch().
#pragma once

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <vector>

#include "kernels/dispatch.h"
#include "timbre/core/error.h"

#ifdef __CUDACC__
#include <cuda_runtime.h>
#define TIMBRE_CUDA_NAMESPACE cuda
#else
#include "kernels/emu/kernels.h"
#include "kernels/emu/simt.h"
#define TIMBRE_CUDA_NAMESPACE emu
#endif

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

// Threads per block of the elementwise kernels, and their grid: grid-stride
// loops cover any n with at most kMaxBlocks blocks.
inline constexpr int kThreads = 256;
inline constexpr int64_t kMaxBlocks = 8192;
inline unsigned blocks_for(int64_t n, int64_t threads_per_block = kThreads) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + threads_per_block - 1) / threads_per_block, 0, kMaxBlocks));
}

#define TIMBRE_GRID_STRIDE_LOOP(i, n)                                                      \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// Runs kernel<<<grid, block, shared_bytes>>>(args...); an empty grid launches
// nothing. A refused launch raises timbre::Error naming the kernel and CUDA's
// reason (errors of the running kernel surface at the next synchronising call).
template <class... Params, class... Args>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
            Args... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "launch: wrong number of kernel arguments");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
#ifdef __CUDACC__
  kernel<<<grid, block, shared_bytes>>>(static_cast<Params>(args)...);
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) fail(std::string(name) + ": CUDA kernel launch failed: " + cudaGetErrorString(status));
#else
  const std::tuple<Params...> params(static_cast<Params>(args)...);
  ::timbre::simt::launch(name, grid, block, shared_bytes, [&] { std::apply(kernel, params); });
#endif
}

// Scratch memory on the kernels' device for the duration of a kernel call
// (through timbre's caching allocator on a GPU, so no cudaMalloc per call).
template <class T>
class Workspace {
 public:
  explicit Workspace(int64_t count);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  T* data() const { return data_; }

 private:
  T* data_ = nullptr;
#ifdef __CUDACC__
  Device device_;
#else
  std::vector<T> host_;
#endif
};

#ifdef __CUDACC__
template <class T>
Workspace<T>::Workspace(int64_t count) {
  int index = 0;
  cudaGetDevice(&index);
  device_ = Device::cuda(index);
  const size_t bytes = static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(T);
  data_ = static_cast<T*>(device_memory::allocate(device_, bytes));
}
template <class T>
Workspace<T>::~Workspace() {
  device_memory::release(device_, data_);
}
#else
template <class T>
Workspace<T>::Workspace(int64_t count) : host_(static_cast<size_t>(std::max<int64_t>(count, 1))) {
  data_ = host_.data();
}
template <class T>
Workspace<T>::~Workspace() = default;
#endif

// Row kernels (softmax, cross-entropy): one warp per row, kWarpRowsPerBlock rows per block.
// kWarp is the warp size for host and device code alike (CUDA's warpSize is device-only).
inline constexpr int kWarp = 32;
inline constexpr int kWarpRowsPerBlock = 4;
inline unsigned warp_row_blocks(int64_t rows) {
  return static_cast<unsigned>((rows + kWarpRowsPerBlock - 1) / kWarpRowsPerBlock);
}
// This warp's row; all lanes of a warp agree, so a warp past the end returns as a whole.
__device__ __forceinline__ int64_t warp_row() {
  return static_cast<int64_t>(blockIdx.x) * kWarpRowsPerBlock + threadIdx.x / kWarp;
}
__device__ __forceinline__ int warp_lane() { return static_cast<int>(threadIdx.x % kWarp); }

// Sum and maximum over the 32 lanes of a warp; every lane gets the result.
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
template <class T>
__device__ __forceinline__ T warp_max(T v) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const T other = __shfl_xor_sync(0xffffffffu, v, offset);
    v = other > v ? other : v;
  }
  return v;
}

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
