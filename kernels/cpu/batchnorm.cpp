// BatchNorm over the channel (last) axis of a (rows, channels) matrix, Keras'
// semantics. Channel sums run in parallel over row blocks with per-thread
// partials, accumulated in double so float32 statistics stay accurate.
#include <cmath>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu/parallel.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

namespace {
// sums[k*C + c] = sum over rows r of term(r, c)[k], for K terms written by term(r, c, out).
template <int K, class Term>
void channel_sums(const BatchNormGeometry& g, Term term, std::vector<double>& sums) {
  sums.assign(static_cast<size_t>(K * g.channels), 0.0);
  const bool parallel = g.rows * g.channels >= kElementwiseGrain;
#ifdef _OPENMP
#pragma omp parallel if (parallel)
#endif
  {
    std::vector<double> local(static_cast<size_t>(K * g.channels), 0.0);
#ifdef _OPENMP
#pragma omp for schedule(static) nowait
#endif
    for (int64_t r = 0; r < g.rows; ++r)
      for (int64_t c = 0; c < g.channels; ++c) {
        double v[K];
        term(r, c, v);
        for (int k = 0; k < K; ++k) local[static_cast<size_t>(k * g.channels + c)] += v[k];
      }
#ifdef _OPENMP
#pragma omp critical
#endif
    for (size_t i = 0; i < local.size(); ++i) sums[i] += local[i];
  }
  (void)parallel;  // unused without OpenMP
}
}  // namespace

template <class T>
void batchnorm_forward_train(const BatchNormGeometry& g, T eps, T momentum, const T* x, const T* gamma,
                             const T* beta, T* y, T* mean, T* inv_std, T* moving_mean, T* moving_var) {
  const int64_t C = g.channels;
  std::vector<double> sums;
  channel_sums<1>(g, [&](int64_t r, int64_t c, double* v) { v[0] = x[r * C + c]; }, sums);
  std::vector<double> mu(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) mu[c] = sums[c] / static_cast<double>(g.rows);
  // Second pass around the mean: no cancellation for data far from zero (dB values).
  channel_sums<1>(g, [&](int64_t r, int64_t c, double* v) {
    const double d = x[r * C + c] - mu[c];
    v[0] = d * d;
  }, sums);
  for (int64_t c = 0; c < C; ++c) {
    const double var = sums[c] / static_cast<double>(g.rows);
    mean[c] = static_cast<T>(mu[c]);
    inv_std[c] = static_cast<T>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    if (moving_mean) moving_mean[c] = moving_mean[c] * momentum + static_cast<T>(mu[c]) * (T(1) - momentum);
    if (moving_var) moving_var[c] = moving_var[c] * momentum + static_cast<T>(var) * (T(1) - momentum);
  }
  TIMBRE_PARALLEL_FOR_IF(g.rows * C >= kElementwiseGrain)
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t c = 0; c < C; ++c)
      y[r * C + c] = (x[r * C + c] - mean[c]) * inv_std[c] * gamma[c] + beta[c];
}

template <class T>
void batchnorm_backward_train(const BatchNormGeometry& g, const T* x, const T* gamma, const T* mean,
                              const T* inv_std, const T* gy, T* gx, T* ggamma, T* gbeta) {
  const int64_t C = g.channels;
  std::vector<double> sums;  // [0]: sum gy, [1]: sum gy * xhat
  channel_sums<2>(g, [&](int64_t r, int64_t c, double* v) {
    v[0] = gy[r * C + c];
    v[1] = static_cast<double>(gy[r * C + c]) * (x[r * C + c] - mean[c]) * inv_std[c];
  }, sums);
  for (int64_t c = 0; c < C; ++c) {
    if (gbeta) gbeta[c] += static_cast<T>(sums[c]);
    if (ggamma) ggamma[c] += static_cast<T>(sums[C + c]);
  }
  if (!gx) return;
  const double m = static_cast<double>(g.rows);
  TIMBRE_PARALLEL_FOR_IF(g.rows * C >= kElementwiseGrain)
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t c = 0; c < C; ++c) {
      const double xhat = (x[r * C + c] - mean[c]) * inv_std[c];
      gx[r * C + c] += static_cast<T>(gamma[c] * inv_std[c] *
                                      (gy[r * C + c] - sums[c] / m - xhat * sums[C + c] / m));
    }
}

template <class T>
void batchnorm_forward_infer(const BatchNormGeometry& g, T eps, const T* x, const T* gamma, const T* beta,
                             const T* moving_mean, const T* moving_var, T* y) {
  const int64_t C = g.channels;
  std::vector<T> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = gamma[c] / std::sqrt(moving_var[c] + eps);
    shift[c] = beta[c] - moving_mean[c] * scale[c];
  }
  TIMBRE_PARALLEL_FOR_IF(g.rows * C >= kElementwiseGrain)
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t c = 0; c < C; ++c) y[r * C + c] = x[r * C + c] * scale[c] + shift[c];
}

template <class T>
void batchnorm_backward_infer(const BatchNormGeometry& g, T eps, const T* x, const T* gamma, const T* moving_mean,
                              const T* moving_var, const T* gy, T* gx, T* ggamma, T* gbeta) {
  const int64_t C = g.channels;
  std::vector<T> inv_std(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) inv_std[c] = T(1) / std::sqrt(moving_var[c] + eps);
  if (ggamma || gbeta) {
    std::vector<double> sums;
    channel_sums<2>(g, [&](int64_t r, int64_t c, double* v) {
      v[0] = gy[r * C + c];
      v[1] = static_cast<double>(gy[r * C + c]) * (x[r * C + c] - moving_mean[c]) * inv_std[c];
    }, sums);
    for (int64_t c = 0; c < C; ++c) {
      if (gbeta) gbeta[c] += static_cast<T>(sums[c]);
      if (ggamma) ggamma[c] += static_cast<T>(sums[C + c]);
    }
  }
  if (!gx) return;
  TIMBRE_PARALLEL_FOR_IF(g.rows * C >= kElementwiseGrain)
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t c = 0; c < C; ++c) gx[r * C + c] += gy[r * C + c] * gamma[c] * inv_std[c];
}

TIMBRE_INSTANTIATE_KERNEL(batchnorm_forward_train)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_backward_train)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_forward_infer)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_backward_infer)

}  // namespace timbre::kernels::cpu
