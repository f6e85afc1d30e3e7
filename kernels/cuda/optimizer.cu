// SGD-momentum and Adam updates on the GPU: one elementwise pass over the flat
// parameter arena (Keras' rules; Adam's bias-corrected rate is computed once on the host),
// and the gradients' clipping by their global norm (a fixed-order column sum, then a scale).
#include <cmath>

#include "kernels/cuda/columns.cuh"
#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
__global__ void sgd_kernel(int64_t n, T lr, T momentum, bool nesterov, const T* g, T* w, T* velocity) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) {
    if (momentum == T(0)) {
      w[i] -= lr * g[i];
    } else {
      const T v = momentum * velocity[i] - lr * g[i];
      velocity[i] = v;
      w[i] += nesterov ? momentum * v - lr * g[i] : v;
    }
  }
}

template <class T>
__global__ void adam_kernel(int64_t n, T lr_t, T beta1, T beta2, T eps, const T* g, T* w, T* m, T* v) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) {
    m[i] = beta1 * m[i] + (T(1) - beta1) * g[i];
    v[i] = beta2 * v[i] + (T(1) - beta2) * g[i] * g[i];
    w[i] -= lr_t * m[i] / (sqrt(v[i]) + eps);
  }
}
// The squares of the gradients as the one column that column_sums adds up.
template <class T>
struct Square {
  const T* g;
  __device__ void operator()(int64_t r, int64_t /*c*/, double* v) const {
    v[0] = static_cast<double>(g[r]) * static_cast<double>(g[r]);
  }
};

// The scale comes from the device sum, so clipping needs no copy to the host.
template <class T>
__global__ void scale_to_norm_kernel(int64_t n, T max_norm, const double* sum, T* g) {
  const double norm = sqrt(*sum);
  if (!(norm > static_cast<double>(max_norm))) return;
  const T scale = static_cast<T>(static_cast<double>(max_norm) / norm);
  TIMBRE_GRID_STRIDE_LOOP(i, n) g[i] *= scale;
}
}  // namespace

template <class T>
void sgd_update(int64_t n, T lr, T momentum, bool nesterov, const T* g, T* w, T* velocity) {
  launch("sgd_update", sgd_kernel<T>, blocks_for(n), kThreads, 0, n, lr, momentum, nesterov, g, w, velocity);
}

template <class T>
void adam_update(int64_t n, T lr, T beta1, T beta2, T eps, int64_t step, const T* g, T* w, T* m, T* v) {
  const T lr_t = lr * std::sqrt(T(1) - std::pow(beta2, T(step))) / (T(1) - std::pow(beta1, T(step)));
  launch("adam_update", adam_kernel<T>, blocks_for(n), kThreads, 0, n, lr_t, beta1, beta2, eps, g, w, m, v);
}

template <class T>
void clip_by_global_norm(int64_t n, T max_norm, T* g) {
  if (n == 0) return;
  Workspace<double> sum(1);
  column_sums<1>("clip_by_global_norm", n, 1, Square<T>{g}, sum.data());
  launch("clip_by_global_norm", scale_to_norm_kernel<T>, blocks_for(n), kThreads, 0, n, max_norm,
         static_cast<const double*>(sum.data()), g);
}

TIMBRE_INSTANTIATE_KERNEL(sgd_update)
TIMBRE_INSTANTIATE_KERNEL(adam_update)
TIMBRE_INSTANTIATE_KERNEL(clip_by_global_norm)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
