// Shared by the CUDA kernels that pool windows and route a gradient back to a
// saved window position (maxpool2d, conv2d_pool, batchnorm_pool), as
// kernels/cpu/pool_window.h is on the CPU: position p = dy * pool_w + dx, and
// the window's first maximum in that (row-major) order.
#pragma once

#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

// Element e of a channels-last (N, H, W, C) tensor as coordinates.
struct Pixel {
  int64_t n, h, w, c;
};
__device__ __forceinline__ Pixel pixel_of(int64_t e, int64_t height, int64_t width, int64_t channels) {
  return {e / (channels * width * height), e / (channels * width) % height, e / channels % width, e % channels};
}

// Window position p's offset from the window's corner, for rows `row_stride`
// and columns `column_stride` elements apart.
__device__ __forceinline__ int64_t window_offset(int64_t p, int64_t pool_w, int64_t row_stride,
                                                 int64_t column_stride) {
  return (p / pool_w) * row_stride + (p % pool_w) * column_stride;
}

// The first maximum of a window, offered its values in position order: strict
// >, so ties keep the first position, as on the CPU.
template <class T>
struct FirstMaximum {
  T value = 0;
  int64_t position = 0;
  __device__ void offer(T v, int64_t p) {
    if (p == 0 || v > value) {
      value = v;
      position = p;
    }
  }
};

// The gradient before LeakyReLU at pooled element i: gy times the activation's slope at y.
template <class T>
__device__ __forceinline__ T pooled_gradient(T negative_slope, const T* y, const T* gy, int64_t i) {
  return y[i] > 0 ? gy[i] : negative_slope * gy[i];
}

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
