// Dense: y = x.w + b, as one GEMM with the bias broadcast first.
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

template <class T>
void dense_forward(int64_t rows, int64_t in, int64_t out, const T* x, const T* w, const T* b, T* y) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) y[r * out + o] = b ? b[o] : T(0);
  gemm<T>(false, false, rows, out, in, T(1), x, in, w, out, T(1), y, out);
}

template <class T>
void dense_backward(int64_t rows, int64_t in, int64_t out, const T* x, const T* w, const T* gy, T* gx, T* gw,
                    T* gb) {
  if (gx) gemm<T>(false, true, rows, in, out, T(1), gy, out, w, out, T(1), gx, in);   // gx += gy.w^T
  if (gw) gemm<T>(true, false, in, out, rows, T(1), x, in, gy, out, T(1), gw, out);   // gw += x^T.gy
  if (gb)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) gb[o] += gy[r * out + o];
}

TIMBRE_INSTANTIATE_KERNEL(dense_forward)
TIMBRE_INSTANTIATE_KERNEL(dense_backward)

}  // namespace timbre::kernels::cpu
