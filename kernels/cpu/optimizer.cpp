// SGD-momentum and Adam updates over a flat parameter arena (Keras' rules), and the gradients' clipping.
#include <cmath>

#include "kernels/cpu/parallel.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

template <class T>
void sgd_update(int64_t n, T lr, T momentum, bool nesterov, const T* g, T* w, T* velocity) {
  if (momentum == T(0)) {
    TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
    for (int64_t i = 0; i < n; ++i) w[i] -= lr * g[i];
    return;
  }
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) {
    const T v = momentum * velocity[i] - lr * g[i];
    velocity[i] = v;
    w[i] += nesterov ? momentum * v - lr * g[i] : v;
  }
}

template <class T>
void adam_update(int64_t n, T lr, T beta1, T beta2, T eps, int64_t step, const T* g, T* w, T* m, T* v) {
  const T lr_t = lr * std::sqrt(T(1) - std::pow(beta2, T(step))) / (T(1) - std::pow(beta1, T(step)));
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) {
    m[i] = beta1 * m[i] + (T(1) - beta1) * g[i];
    v[i] = beta2 * v[i] + (T(1) - beta2) * g[i] * g[i];
    w[i] -= lr_t * m[i] / (std::sqrt(v[i]) + eps);
  }
}

template <class T>
void clip_by_global_norm(int64_t n, T max_norm, T* g) {
  double sum = 0;  // one thread, one order: the same sum for any thread count
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  const double norm = std::sqrt(sum);
  if (!(norm > static_cast<double>(max_norm))) return;  // within the bound (a NaN norm shows in the loss)
  const auto scale = static_cast<T>(static_cast<double>(max_norm) / norm);
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) g[i] *= scale;
}

TIMBRE_INSTANTIATE_KERNEL(sgd_update)
TIMBRE_INSTANTIATE_KERNEL(adam_update)
TIMBRE_INSTANTIATE_KERNEL(clip_by_global_norm)

}  // namespace timbre::kernels::cpu
