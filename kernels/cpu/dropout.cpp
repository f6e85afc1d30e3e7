// Inverted dropout with a stateless mask (see dropout_keeps in dispatch.h).
#include "kernels/cpu/parallel.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

template <class T>
void dropout_forward(int64_t n, T rate, uint64_t seed, const T* x, T* y) {
  const T scale = T(1) / (T(1) - rate);
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = dropout_keeps(seed, i, rate) ? x[i] * scale : T(0);
}

template <class T>
void dropout_backward(int64_t n, T rate, uint64_t seed, const T* gy, T* gx) {
  const T scale = T(1) / (T(1) - rate);
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i)
    if (dropout_keeps(seed, i, rate)) gx[i] += gy[i] * scale;
}

TIMBRE_INSTANTIATE_KERNEL(dropout_forward)
TIMBRE_INSTANTIATE_KERNEL(dropout_backward)

}  // namespace timbre::kernels::cpu
