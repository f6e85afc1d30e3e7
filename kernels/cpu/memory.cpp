// fill, axpy, copy_block: the memory kernels autograd and Concatenate use.
#include "kernels/cpu/parallel.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

template <class T>
void fill(int64_t n, T value, T* y) {
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = value;
}

template <class T>
void axpy(int64_t n, T alpha, const T* x, T* y) {
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

template <class T>
void copy_block(int64_t rows, int64_t cols, const T* src, int64_t src_stride, T* dst, int64_t dst_stride,
                bool accumulate) {
  TIMBRE_PARALLEL_FOR_IF(rows * cols >= kElementwiseGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* s = src + r * src_stride;
    T* d = dst + r * dst_stride;
    if (accumulate)
      for (int64_t c = 0; c < cols; ++c) d[c] += s[c];
    else
      for (int64_t c = 0; c < cols; ++c) d[c] = s[c];
  }
}

TIMBRE_INSTANTIATE_KERNEL(fill)
TIMBRE_INSTANTIATE_KERNEL(axpy)
TIMBRE_INSTANTIATE_KERNEL(copy_block)

}  // namespace timbre::kernels::cpu
