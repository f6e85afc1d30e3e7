// BatchNorm on the GPU over the channel (last) axis of (rows, channels), with
// the CPU twin's arithmetic: channel statistics summed in double (two passes,
// the variance around the mean), per-channel finishing kernels, then
// elementwise kernels for y and gx.
#include <cmath>

#include "kernels/cuda/columns.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
struct Value {
  const T* x;
  int64_t channels;
  __device__ void operator()(int64_t r, int64_t c, double* v) const { v[0] = x[r * channels + c]; }
};

template <class T>
struct SquaredDeviation {
  const T* x;
  int64_t channels;
  const double* sums;  // of x, per channel
  double rows;
  __device__ void operator()(int64_t r, int64_t c, double* v) const {
    const double d = x[r * channels + c] - sums[c] / rows;
    v[0] = d * d;
  }
};

// v[0] = gy, v[1] = gy * xhat, xhat = (x - mean) * inv_std.
template <class T>
struct GradientTerms {
  const T* x;
  const T* gy;
  int64_t channels;
  const T* mean;
  const T* inv_std;
  __device__ void operator()(int64_t r, int64_t c, double* v) const {
    const int64_t i = r * channels + c;
    v[0] = gy[i];
    v[1] = static_cast<double>(gy[i]) * (x[i] - mean[c]) * inv_std[c];
  }
};

template <class T>
__global__ void finish_statistics_kernel(int64_t rows, int64_t channels, T eps, T momentum, const double* sums,
                                         const double* squares, T* mean, T* inv_std, T* moving_mean,
                                         T* moving_var) {
  TIMBRE_GRID_STRIDE_LOOP(c, channels) {
    const double mu = sums[c] / static_cast<double>(rows), var = squares[c] / static_cast<double>(rows);
    mean[c] = static_cast<T>(mu);
    inv_std[c] = static_cast<T>(1.0 / sqrt(var + static_cast<double>(eps)));
    if (moving_mean) moving_mean[c] = moving_mean[c] * momentum + static_cast<T>(mu) * (T(1) - momentum);
    if (moving_var) moving_var[c] = moving_var[c] * momentum + static_cast<T>(var) * (T(1) - momentum);
  }
}

template <class T>
__global__ void normalize_kernel(int64_t rows, int64_t channels, const T* x, const T* mean, const T* inv_std,
                                 const T* gamma, const T* beta, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(i, rows * channels) {
    const int64_t c = i % channels;
    y[i] = (x[i] - mean[c]) * inv_std[c] * gamma[c] + beta[c];
  }
}

// gbeta += sums[c], ggamma += sums[C + c].
template <class T>
__global__ void add_parameter_gradients_kernel(int64_t channels, const double* sums, T* ggamma, T* gbeta) {
  TIMBRE_GRID_STRIDE_LOOP(c, channels) {
    if (gbeta) gbeta[c] += static_cast<T>(sums[c]);
    if (ggamma) ggamma[c] += static_cast<T>(sums[channels + c]);
  }
}

template <class T>
__global__ void train_input_gradient_kernel(int64_t rows, int64_t channels, const T* x, const T* gamma,
                                            const T* mean, const T* inv_std, const T* gy, const double* sums,
                                            T* gx) {
  const double m = static_cast<double>(rows);
  TIMBRE_GRID_STRIDE_LOOP(i, rows * channels) {
    const int64_t c = i % channels;
    const double xhat = (x[i] - mean[c]) * inv_std[c];
    gx[i] += static_cast<T>(gamma[c] * inv_std[c] * (gy[i] - sums[c] / m - xhat * sums[channels + c] / m));
  }
}

template <class T>
__global__ void infer_normalize_kernel(int64_t rows, int64_t channels, T eps, const T* x, const T* gamma,
                                       const T* beta, const T* moving_mean, const T* moving_var, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(i, rows * channels) {
    const int64_t c = i % channels;
    const T scale = gamma[c] / sqrt(moving_var[c] + eps);
    y[i] = x[i] * scale + (beta[c] - moving_mean[c] * scale);
  }
}

template <class T>
__global__ void inverse_std_kernel(int64_t channels, T eps, const T* moving_var, T* inv_std) {
  TIMBRE_GRID_STRIDE_LOOP(c, channels) inv_std[c] = T(1) / sqrt(moving_var[c] + eps);
}

template <class T>
__global__ void infer_input_gradient_kernel(int64_t rows, int64_t channels, const T* gamma, const T* inv_std,
                                            const T* gy, T* gx) {
  TIMBRE_GRID_STRIDE_LOOP(i, rows * channels) {
    const int64_t c = i % channels;
    gx[i] += gy[i] * gamma[c] * inv_std[c];
  }
}
}  // namespace

template <class T>
void batchnorm_forward_train(const BatchNormGeometry& g, T eps, T momentum, const T* x, const T* gamma,
                             const T* beta, T* y, T* mean, T* inv_std, T* moving_mean, T* moving_var) {
  const int64_t C = g.channels;
  Workspace<double> sums(2 * C);  // [0, C): sum of x; [C, 2C): sum of squared deviations
  column_sums<1>("batchnorm_forward_train", g.rows, C, Value<T>{x, C}, sums.data());
  column_sums<1>("batchnorm_forward_train", g.rows, C,
                 SquaredDeviation<T>{x, C, sums.data(), static_cast<double>(g.rows)}, sums.data() + C);
  launch("batchnorm_forward_train", finish_statistics_kernel<T>, blocks_for(C), kThreads, 0, g.rows, C, eps,
         momentum, static_cast<const double*>(sums.data()), static_cast<const double*>(sums.data() + C), mean,
         inv_std, moving_mean, moving_var);
  launch("batchnorm_forward_train", normalize_kernel<T>, blocks_for(g.rows * C), kThreads, 0, g.rows, C, x,
         static_cast<const T*>(mean), static_cast<const T*>(inv_std), gamma, beta, y);
}

template <class T>
void batchnorm_backward_train(const BatchNormGeometry& g, const T* x, const T* gamma, const T* mean,
                              const T* inv_std, const T* gy, T* gx, T* ggamma, T* gbeta) {
  const int64_t C = g.channels;
  Workspace<double> sums(2 * C);
  column_sums<2>("batchnorm_backward_train", g.rows, C, GradientTerms<T>{x, gy, C, mean, inv_std}, sums.data());
  const double* s = sums.data();
  launch("batchnorm_backward_train", add_parameter_gradients_kernel<T>, blocks_for(C), kThreads, 0, C, s, ggamma,
         gbeta);
  if (gx)
    launch("batchnorm_backward_train", train_input_gradient_kernel<T>, blocks_for(g.rows * C), kThreads, 0, g.rows,
           C, x, gamma, mean, inv_std, gy, s, gx);
}

template <class T>
void batchnorm_forward_infer(const BatchNormGeometry& g, T eps, const T* x, const T* gamma, const T* beta,
                             const T* moving_mean, const T* moving_var, T* y) {
  launch("batchnorm_forward_infer", infer_normalize_kernel<T>, blocks_for(g.rows * g.channels), kThreads, 0, g.rows,
         g.channels, eps, x, gamma, beta, moving_mean, moving_var, y);
}

template <class T>
void batchnorm_backward_infer(const BatchNormGeometry& g, T eps, const T* x, const T* gamma, const T* moving_mean,
                              const T* moving_var, const T* gy, T* gx, T* ggamma, T* gbeta) {
  const int64_t C = g.channels;
  Workspace<T> inv_std(C);
  launch("batchnorm_backward_infer", inverse_std_kernel<T>, blocks_for(C), kThreads, 0, C, eps, moving_var,
         inv_std.data());
  const T* is = inv_std.data();
  if (ggamma || gbeta) {
    Workspace<double> sums(2 * C);
    column_sums<2>("batchnorm_backward_infer", g.rows, C, GradientTerms<T>{x, gy, C, moving_mean, is}, sums.data());
    launch("batchnorm_backward_infer", add_parameter_gradients_kernel<T>, blocks_for(C), kThreads, 0, C,
           static_cast<const double*>(sums.data()), ggamma, gbeta);
  }
  if (gx)
    launch("batchnorm_backward_infer", infer_input_gradient_kernel<T>, blocks_for(g.rows * C), kThreads, 0, g.rows,
           C, gamma, is, gy, gx);
}

TIMBRE_INSTANTIATE_KERNEL(batchnorm_forward_train)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_backward_train)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_forward_infer)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_backward_infer)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
