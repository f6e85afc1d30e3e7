// fill, axpy, copy_block on the GPU: grid-stride elementwise kernels.
#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
__global__ void fill_kernel(int64_t n, T value, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) y[i] = value;
}

template <class T>
__global__ void axpy_kernel(int64_t n, T alpha, const T* x, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) y[i] += alpha * x[i];
}

template <class T>
__global__ void copy_block_kernel(int64_t rows, int64_t cols, const T* src, int64_t src_stride, T* dst,
                                  int64_t dst_stride, bool accumulate) {
  TIMBRE_GRID_STRIDE_LOOP(i, rows * cols) {
    const int64_t r = i / cols, c = i % cols;
    const T v = src[r * src_stride + c];
    T& d = dst[r * dst_stride + c];
    d = accumulate ? d + v : v;
  }
}
}  // namespace

template <class T>
void fill(int64_t n, T value, T* y) {
  launch("fill", fill_kernel<T>, blocks_for(n), kThreads, 0, n, value, y);
}

template <class T>
void axpy(int64_t n, T alpha, const T* x, T* y) {
  launch("axpy", axpy_kernel<T>, blocks_for(n), kThreads, 0, n, alpha, x, y);
}

template <class T>
void copy_block(int64_t rows, int64_t cols, const T* src, int64_t src_stride, T* dst, int64_t dst_stride,
                bool accumulate) {
  launch("copy_block", copy_block_kernel<T>, blocks_for(rows * cols), kThreads, 0, rows, cols, src, src_stride,
         dst, dst_stride, accumulate);
}

TIMBRE_INSTANTIATE_KERNEL(fill)
TIMBRE_INSTANTIATE_KERNEL(axpy)
TIMBRE_INSTANTIATE_KERNEL(copy_block)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
