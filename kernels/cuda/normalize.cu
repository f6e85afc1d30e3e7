// Normalization with fixed statistics on the GPU: one elementwise pass,
// statistic s = (i / inner) % groups as in the CPU twin.
#include <cmath>

#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
__device__ __forceinline__ T inverse_scale(T variance, T eps) {
  const T scale = sqrt(variance);
  return T(1) / (scale > eps ? scale : eps);
}

template <class T>
__global__ void normalize_forward_kernel(int64_t n, int64_t inner, int64_t groups, T eps, const T* x,
                                         const T* mean, const T* variance, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) {
    const int64_t s = (i / inner) % groups;
    y[i] = (x[i] - mean[s]) * inverse_scale(variance[s], eps);
  }
}

template <class T>
__global__ void normalize_backward_kernel(int64_t n, int64_t inner, int64_t groups, T eps, const T* variance,
                                          const T* gy, T* gx) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) gx[i] += gy[i] * inverse_scale(variance[(i / inner) % groups], eps);
}
}  // namespace

template <class T>
void normalize_forward(int64_t n, int64_t inner, int64_t groups, T eps, const T* x, const T* mean, const T* variance,
                       T* y) {
  launch("normalize_forward", normalize_forward_kernel<T>, blocks_for(n), kThreads, 0, n, inner, groups, eps, x,
         mean, variance, y);
}

template <class T>
void normalize_backward(int64_t n, int64_t inner, int64_t groups, T eps, const T* variance, const T* gy, T* gx) {
  launch("normalize_backward", normalize_backward_kernel<T>, blocks_for(n), kThreads, 0, n, inner, groups, eps,
         variance, gy, gx);
}

TIMBRE_INSTANTIATE_KERNEL(normalize_forward)
TIMBRE_INSTANTIATE_KERNEL(normalize_backward)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
