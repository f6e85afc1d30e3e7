// The SIMT emulator: what a CUDA kernel sees of the GPU, for kernels/cuda/*.cu
// compiled as C++ on the CPU. Every thread of a block runs as a fiber (ucontext,
// 64 KiB stack) on the calling thread; blocks run one after another. A fiber
// runs until it reaches __syncthreads, __syncwarp or a warp shuffle, so those
// behave as on a GPU: shared memory written before a barrier is seen after it,
// shuffles exchange the values of the 32 lanes of a warp. Device memory is plain
// host memory. docs/cuda.md describes the model and its limits.
#pragma once

#include <math.h>  // the float overloads of exp, log, ... in the global namespace, as CUDA has them

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// The built-in variables, set by the emulator before each fiber runs.
extern thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
inline constexpr int warpSize = 32;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
// Blocks run one at a time, so a function-local static is one block's shared memory.
#define __shared__ static

namespace timbre::simt {

// Runs body() as every thread of every block of grid x block. Dynamic shared
// memory is not modelled (no kernel uses it); shared_bytes is only checked. Throws
// timbre::Error naming `kernel` for a configuration a GPU would refuse, a
// deadlock (threads waiting at different barriers) or a misused shuffle.
void launch(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body);
void sync_block();
void sync_warp();
// Publishes this lane's value and returns the value of lane `source` of its warp.
uint64_t exchange_in_warp(uint64_t bits, unsigned source);
unsigned lane_id();

template <class T>
T shuffle(T value, unsigned source) {
  static_assert(sizeof(T) <= sizeof(uint64_t) && std::is_trivially_copyable_v<T>, "shuffle of a value over 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = exchange_in_warp(bits, source);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

}  // namespace timbre::simt

inline void __syncthreads() { timbre::simt::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { timbre::simt::sync_warp(); }

// Warp shuffles over segments of `width` lanes; a source outside the segment
// yields the caller's own value, as on a GPU. The mask is not modelled: every
// live lane of the warp must take part.
template <class T>
T __shfl_sync(unsigned, T value, int source, int width = warpSize) {
  const unsigned lane = timbre::simt::lane_id(), base = lane / width * width;
  return timbre::simt::shuffle(value, base + static_cast<unsigned>(source) % width);
}
template <class T>
T __shfl_down_sync(unsigned, T value, unsigned delta, int width = warpSize) {
  const unsigned lane = timbre::simt::lane_id(), end = lane / width * width + width;
  return timbre::simt::shuffle(value, lane + delta < end ? lane + delta : lane);
}
template <class T>
T __shfl_up_sync(unsigned, T value, unsigned delta, int width = warpSize) {
  const unsigned lane = timbre::simt::lane_id(), base = lane / width * width;
  return timbre::simt::shuffle(value, lane >= base + delta ? lane - delta : lane);
}
template <class T>
T __shfl_xor_sync(unsigned, T value, int lane_mask, int width = warpSize) {
  const unsigned lane = timbre::simt::lane_id(), end = lane / width * width + width;
  const unsigned source = lane ^ static_cast<unsigned>(lane_mask);
  return timbre::simt::shuffle(value, source < end ? source : lane);
}

// Fibers switch only at barriers and shuffles, so a read-modify-write is atomic.
template <class T>
T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}
template <class T>
T atomicMax(T* address, T value) {
  const T old = *address;
  if (value > old) *address = value;
  return old;
}
template <class T>
T __ldg(const T* address) {
  return *address;
}
