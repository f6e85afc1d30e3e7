// Normalization (fixed statistics) on the CPU.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/parallel.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

namespace {
template <class T>
T inverse_scale(T variance, T eps) {
  return T(1) / std::max(std::sqrt(variance), eps);
}
}  // namespace

template <class T>
void normalize_forward(int64_t n, int64_t inner, int64_t groups, T eps, const T* x, const T* mean, const T* variance,
                       T* y) {
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t s = (i / inner) % groups;
    y[i] = (x[i] - mean[s]) * inverse_scale(variance[s], eps);
  }
}

template <class T>
void normalize_backward(int64_t n, int64_t inner, int64_t groups, T eps, const T* variance, const T* gy, T* gx) {
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) gx[i] += gy[i] * inverse_scale(variance[(i / inner) % groups], eps);
}

TIMBRE_INSTANTIATE_KERNEL(normalize_forward)
TIMBRE_INSTANTIATE_KERNEL(normalize_backward)

}  // namespace timbre::kernels::cpu
