// Inverted dropout on the GPU with the stateless mask dropout_keeps(seed, i,
// rate) of kernels/dispatch.h, so it draws exactly the CPU twin's mask.
#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
__global__ void dropout_forward_kernel(int64_t n, T rate, uint64_t seed, const T* x, T* y) {
  const T scale = T(1) / (T(1) - rate);
  TIMBRE_GRID_STRIDE_LOOP(i, n) y[i] = dropout_keeps(seed, i, rate) ? x[i] * scale : T(0);
}

template <class T>
__global__ void dropout_backward_kernel(int64_t n, T rate, uint64_t seed, const T* gy, T* gx) {
  const T scale = T(1) / (T(1) - rate);
  TIMBRE_GRID_STRIDE_LOOP(i, n) if (dropout_keeps(seed, i, rate)) gx[i] += gy[i] * scale;
}
}  // namespace

template <class T>
void dropout_forward(int64_t n, T rate, uint64_t seed, const T* x, T* y) {
  launch("dropout_forward", dropout_forward_kernel<T>, blocks_for(n), kThreads, 0, n, rate, seed, x, y);
}

template <class T>
void dropout_backward(int64_t n, T rate, uint64_t seed, const T* gy, T* gx) {
  launch("dropout_backward", dropout_backward_kernel<T>, blocks_for(n), kThreads, 0, n, rate, seed, gy, gx);
}

TIMBRE_INSTANTIATE_KERNEL(dropout_forward)
TIMBRE_INSTANTIATE_KERNEL(dropout_backward)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
