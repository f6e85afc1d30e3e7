// BatchNorm on the GPU over the channel (last) axis of (rows, channels), with
// the CPU twin's arithmetic: channel statistics summed in double (two passes,
// the variance around the mean), per-channel finishing kernels, then
// elementwise kernels for y and gx.
//
// batchnorm_pool fuses training batch norm with LeakyReLU and max pooling
// (stride = pool): the same statistics, then one thread per pooled element
// normalises its window and keeps the first maximum (row-major, strict >, as
// maxpool2d.cu), activating it alone (LeakyReLU is monotone). Its backward's
// gradient of the normalised activations is nonzero only at each window's
// argmax, so the channel sums run over the pooled elements, and gx is an
// elementwise kernel that finds its own window's argmax: no atomics, fixed order.
#include <cmath>

#include "kernels/cuda/columns.cuh"
#include "kernels/cuda/pool_window.cuh"

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

// v = [x - center, (x - center)^2]; center null: zero.
template <class T>
struct Deviation {
  const T* x;
  int64_t channels;
  const T* center;
  __device__ void operator()(int64_t r, int64_t c, double* v) const {
    const double d = static_cast<double>(x[r * channels + c]) - (center ? static_cast<double>(center[c]) : 0.0);
    v[0] = d;
    v[1] = d * d;
  }
};

// Channel c's statistics from its mean and variance: mean, inv_std = 1/sqrt(var + eps)
// and the moving statistics' update, each written when not null.
template <class T>
__device__ void store_statistics(int64_t c, double mu, double var, T eps, T momentum, T* mean, T* inv_std,
                                 T* moving_mean, T* moving_var) {
  mean[c] = static_cast<T>(mu);
  if (inv_std) inv_std[c] = static_cast<T>(1.0 / sqrt(var + static_cast<double>(eps)));
  if (moving_mean) moving_mean[c] = moving_mean[c] * momentum + static_cast<T>(mu) * (T(1) - momentum);
  if (moving_var) moving_var[c] = moving_var[c] * momentum + static_cast<T>(var) * (T(1) - momentum);
}

template <class T>
__global__ void finish_statistics_kernel(int64_t rows, int64_t channels, T eps, T momentum, const double* sums,
                                         const double* squares, T* mean, T* inv_std, T* moving_mean,
                                         T* moving_var) {
  TIMBRE_GRID_STRIDE_LOOP(c, channels) {
    store_statistics(c, sums[c] / static_cast<double>(rows), squares[c] / static_cast<double>(rows), eps, momentum,
                     mean, inv_std, moving_mean, moving_var);
  }
}

// The statistics from moments around `center` over `count` rows (sync_batchnorm_statistics).
template <class T>
__global__ void moment_statistics_kernel(int64_t channels, int64_t count, T eps, T momentum, const T* center,
                                         const T* sums, T* mean, T* inv_std, T* moving_mean, T* moving_var) {
  TIMBRE_GRID_STRIDE_LOOP(c, channels) {
    const double n = static_cast<double>(count), shift = sums[c] / n;  // the mean's distance from the center
    const double var = sums[channels + c] / n - shift * shift;
    store_statistics(c, (center ? static_cast<double>(center[c]) : 0.0) + shift, var > 0 ? var : 0.0, eps, momentum,
                     mean, inv_std, moving_mean, moving_var);
  }
}

template <class T>
__global__ void store_sums_kernel(int64_t count, const double* sums, T* out) {
  TIMBRE_GRID_STRIDE_LOOP(i, count) out[i] = static_cast<T>(sums[i]);
}

template <class T>
__global__ void normalize_kernel(int64_t rows, int64_t channels, const T* x, const T* mean, const T* inv_std,
                                 const T* gamma, const T* beta, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(i, rows * channels) {
    const int64_t c = i % channels;
    y[i] = (x[i] - mean[c]) * inv_std[c] * gamma[c] + beta[c];
  }
}

// One thread per pooled element (n, py, px, c) of g.
template <class T>
__global__ void normalize_pool_kernel(Pool2dGeometry g, T negative_slope, const T* x, const T* mean, const T* inv_std,
                                      const T* gamma, const T* beta, T* y, T* argmax) {
  TIMBRE_GRID_STRIDE_LOOP(e, g.batch * g.out_h * g.out_w * g.channels) {
    const auto [n, py, px, c] = pixel_of(e, g.out_h, g.out_w, g.channels);
    const T* corner = x + ((n * g.in_h + py * g.pool_h) * g.in_w + px * g.pool_w) * g.channels + c;
    // The CPU twin's arithmetic, (x - mean) * scale + beta, so near-ties mostly resolve alike.
    const T center = mean[c], scale = static_cast<T>(static_cast<double>(inv_std[c]) * gamma[c]), shift = beta[c];
    FirstMaximum<T> best;
    for (int64_t p = 0; p < g.pool_h * g.pool_w; ++p)
      best.offer((corner[window_offset(p, g.pool_w, g.in_w * g.channels, g.channels)] - center) * scale + shift, p);
    y[e] = best.value > 0 ? best.value : negative_slope * best.value;
    if (argmax) argmax[e] = static_cast<T>(best.position);
  }
}

// GradientTerms over rows r = pooled elements (n, py, px): v[0] = the pooled
// gradient, v[1] = it times xhat at its window's argmax.
template <class T>
struct PooledGradientTerms {
  Pool2dGeometry g;
  T negative_slope;
  const T* x;
  const T* y;
  const T* argmax;
  const T* gy;
  const T* mean;
  const T* inv_std;
  __device__ void operator()(int64_t r, int64_t c, double* v) const {
    const int64_t i = r * g.channels + c;
    const Pixel o = pixel_of(i, g.out_h, g.out_w, g.channels);
    const int64_t corner = ((o.n * g.in_h + o.h * g.pool_h) * g.in_w + o.w * g.pool_w) * g.channels + c;
    const T grad = pooled_gradient(negative_slope, y, gy, i);
    const T at = x[corner + window_offset(static_cast<int64_t>(argmax[i]), g.pool_w, g.in_w * g.channels, g.channels)];
    v[0] = grad;
    v[1] = static_cast<double>(grad) * (at - mean[c]) * inv_std[c];
  }
};

// gbeta += sums[c], ggamma += sums[C + c].
template <class T>
__global__ void add_parameter_gradients_kernel(int64_t channels, const double* sums, T* ggamma, T* gbeta) {
  TIMBRE_GRID_STRIDE_LOOP(c, channels) {
    if (gbeta) gbeta[c] += static_cast<T>(sums[c]);
    if (ggamma) ggamma[c] += static_cast<T>(sums[channels + c]);
  }
}

// Batch norm's training input gradient at element i of channel c, for its
// output gradient g and the channel sums (sum g, sum g * xhat) over m rows.
template <class T, class Sum>
__device__ __forceinline__ T train_input_gradient(int64_t i, int64_t c, int64_t channels, double m, T g, const T* x,
                                                  const T* gamma, const T* mean, const T* inv_std, const Sum* sums) {
  const double xhat = (x[i] - mean[c]) * inv_std[c];
  return static_cast<T>(gamma[c] * inv_std[c] * (g - sums[c] / m - xhat * sums[channels + c] / m));
}

// gx += the input gradient over `count` rows in all (this launch's `rows` or more).
template <class T, class Sum>
__global__ void train_input_gradient_kernel(int64_t rows, int64_t channels, int64_t count, const T* x, const T* gamma,
                                            const T* mean, const T* inv_std, const T* gy, const Sum* sums, T* gx) {
  const double m = static_cast<double>(count);
  TIMBRE_GRID_STRIDE_LOOP(i, rows * channels) {
    gx[i] += train_input_gradient(i, i % channels, channels, m, gy[i], x, gamma, mean, inv_std, sums);
  }
}

// As train_input_gradient_kernel for x of g, whose output gradient is the pooled
// gradient where the element is its window's argmax and zero elsewhere
// (elements outside every window included).
template <class T>
__global__ void pool_input_gradient_kernel(Pool2dGeometry g, T negative_slope, const T* x, const T* gamma, const T* mean,
                                           const T* inv_std, const T* y, const T* argmax, const T* gy,
                                           const double* sums, T* gx) {
  const double m = static_cast<double>(g.batch * g.in_h * g.in_w);
  TIMBRE_GRID_STRIDE_LOOP(e, g.batch * g.in_h * g.in_w * g.channels) {
    const auto [n, ih, iw, c] = pixel_of(e, g.in_h, g.in_w, g.channels);
    const int64_t py = ih / g.pool_h, px = iw / g.pool_w;
    T grad = 0;
    if (py < g.out_h && px < g.out_w) {
      const int64_t pooled = ((n * g.out_h + py) * g.out_w + px) * g.channels + c;
      if (static_cast<int64_t>(argmax[pooled]) == (ih - py * g.pool_h) * g.pool_w + (iw - px * g.pool_w))
        grad = pooled_gradient(negative_slope, y, gy, pooled);
    }
    gx[e] += train_input_gradient(e, c, g.channels, m, grad, x, gamma, mean, inv_std, sums);
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

// mean, inv_std and the moving statistics' update of x (rows, channels): the
// statistics of both training forwards.
template <class T>
void batch_statistics(const char* name, int64_t rows, int64_t C, T eps, T momentum, const T* x, T* mean, T* inv_std,
                      T* moving_mean, T* moving_var) {
  Workspace<double> sums(2 * C);  // [0, C): sum of x; [C, 2C): sum of squared deviations
  column_sums<1>(name, rows, C, Value<T>{x, C}, sums.data());
  column_sums<1>(name, rows, C, SquaredDeviation<T>{x, C, sums.data(), static_cast<double>(rows)}, sums.data() + C);
  launch(name, finish_statistics_kernel<T>, blocks_for(C), kThreads, 0, rows, C, eps, momentum,
         static_cast<const double*>(sums.data()), static_cast<const double*>(sums.data() + C), mean, inv_std,
         moving_mean, moving_var);
}
}  // namespace

template <class T>
void batchnorm_forward_train(const BatchNormGeometry& g, T eps, T momentum, const T* x, const T* gamma,
                             const T* beta, T* y, T* mean, T* inv_std, T* moving_mean, T* moving_var) {
  batch_statistics("batchnorm_forward_train", g.rows, g.channels, eps, momentum, x, mean, inv_std, moving_mean,
                   moving_var);
  launch("batchnorm_forward_train", normalize_kernel<T>, blocks_for(g.rows * g.channels), kThreads, 0, g.rows,
         g.channels, x, static_cast<const T*>(mean), static_cast<const T*>(inv_std), gamma, beta, y);
}

// sums = [sum gy, sum gy * xhat] per channel, also added into gbeta and ggamma.
template <class T>
void gradient_sums(const char* name, const BatchNormGeometry& g, const T* x, const T* mean, const T* inv_std,
                   const T* gy, double* sums, T* ggamma, T* gbeta) {
  const int64_t C = g.channels;
  column_sums<2>(name, g.rows, C, GradientTerms<T>{x, gy, C, mean, inv_std}, sums);
  launch(name, add_parameter_gradients_kernel<T>, blocks_for(C), kThreads, 0, C, sums, ggamma, gbeta);
}

template <class T>
void batchnorm_backward_train(const BatchNormGeometry& g, const T* x, const T* gamma, const T* mean,
                              const T* inv_std, const T* gy, T* gx, T* ggamma, T* gbeta) {
  const int64_t C = g.channels;
  Workspace<double> sums(2 * C);
  const double* s = sums.data();
  gradient_sums("batchnorm_backward_train", g, x, mean, inv_std, gy, sums.data(), ggamma, gbeta);
  if (gx)
    launch("batchnorm_backward_train", train_input_gradient_kernel<T, double>, blocks_for(g.rows * C), kThreads, 0,
           g.rows, C, g.rows, x, gamma, mean, inv_std, gy, s, gx);
}

template <class T>
void batchnorm_pool_forward_train(const Pool2dGeometry& g, T eps, T momentum, T negative_slope, const T* x, const T* gamma,
                                  const T* beta, T* y, T* argmax, T* mean, T* inv_std, T* moving_mean,
                                  T* moving_var) {
  batch_statistics("batchnorm_pool_forward_train", g.batch * g.in_h * g.in_w, g.channels, eps, momentum, x, mean,
                   inv_std, moving_mean, moving_var);
  launch("batchnorm_pool_forward_train", normalize_pool_kernel<T>,
         blocks_for(g.batch * g.out_h * g.out_w * g.channels), kThreads, 0, g, negative_slope, x, static_cast<const T*>(mean),
         static_cast<const T*>(inv_std), gamma, beta, y, argmax);
}

template <class T>
void batchnorm_pool_backward_train(const Pool2dGeometry& g, T negative_slope, const T* x, const T* gamma, const T* mean,
                                   const T* inv_std, const T* y, const T* argmax, const T* gy, T* gx, T* ggamma,
                                   T* gbeta) {
  const int64_t C = g.channels;
  Workspace<double> sums(2 * C);
  column_sums<2>("batchnorm_pool_backward_train", g.batch * g.out_h * g.out_w, C,
                 PooledGradientTerms<T>{g, negative_slope, x, y, argmax, gy, mean, inv_std}, sums.data());
  const double* s = sums.data();
  launch("batchnorm_pool_backward_train", add_parameter_gradients_kernel<T>, blocks_for(C), kThreads, 0, C, s,
         ggamma, gbeta);
  if (gx)
    launch("batchnorm_pool_backward_train", pool_input_gradient_kernel<T>,
           blocks_for(g.batch * g.in_h * g.in_w * C), kThreads, 0, g, negative_slope, x, gamma, mean, inv_std, y, argmax, gy,
           s, gx);
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
    gradient_sums("batchnorm_backward_infer", g, x, moving_mean, is, gy, sums.data(), ggamma, gbeta);
  }
  if (gx)
    launch("batchnorm_backward_infer", infer_input_gradient_kernel<T>, blocks_for(g.rows * C), kThreads, 0, g.rows,
           C, gamma, is, gy, gx);
}

// ---------------------------------------------------------------- split for statistics across processes
template <class T>
void sync_batchnorm_moments(const BatchNormGeometry& g, const T* x, const T* center, T* sums) {
  Workspace<double> s(2 * g.channels);
  column_sums<2>("sync_batchnorm_moments", g.rows, g.channels, Deviation<T>{x, g.channels, center}, s.data());
  launch("sync_batchnorm_moments", store_sums_kernel<T>, blocks_for(2 * g.channels), kThreads, 0, 2 * g.channels,
         static_cast<const double*>(s.data()), sums);
}

template <class T>
void sync_batchnorm_statistics(int64_t channels, int64_t count, T eps, T momentum, const T* center, const T* sums,
                               T* mean, T* inv_std, T* moving_mean, T* moving_var) {
  launch("sync_batchnorm_statistics", moment_statistics_kernel<T>, blocks_for(channels), kThreads, 0, channels, count,
         eps, momentum, center, sums, mean, inv_std, moving_mean, moving_var);
}

template <class T>
void sync_batchnorm_apply(const BatchNormGeometry& g, const T* x, const T* gamma, const T* beta, const T* mean,
                          const T* inv_std, T* y) {
  launch("sync_batchnorm_apply", normalize_kernel<T>, blocks_for(g.rows * g.channels), kThreads, 0, g.rows,
         g.channels, x, mean, inv_std, gamma, beta, y);
}

template <class T>
void sync_batchnorm_gradient_sums(const BatchNormGeometry& g, const T* x, const T* mean, const T* inv_std,
                                  const T* gy, T* sums, T* ggamma, T* gbeta) {
  const int64_t C = g.channels;
  Workspace<double> s(2 * C);
  gradient_sums("sync_batchnorm_gradient_sums", g, x, mean, inv_std, gy, s.data(), ggamma, gbeta);
  launch("sync_batchnorm_gradient_sums", store_sums_kernel<T>, blocks_for(2 * C), kThreads, 0, 2 * C, s.data(), sums);
}

template <class T>
void sync_batchnorm_backward(const BatchNormGeometry& g, int64_t count, const T* x, const T* gamma, const T* mean,
                             const T* inv_std, const T* sums, const T* gy, T* gx) {
  launch("sync_batchnorm_backward", train_input_gradient_kernel<T, T>, blocks_for(g.rows * g.channels), kThreads, 0,
         g.rows, g.channels, count, x, gamma, mean, inv_std, gy, sums, gx);
}

TIMBRE_INSTANTIATE_KERNEL(batchnorm_forward_train)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_backward_train)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_forward_infer)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_backward_infer)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_pool_forward_train)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_pool_backward_train)
TIMBRE_INSTANTIATE_KERNEL(sync_batchnorm_moments)
TIMBRE_INSTANTIATE_KERNEL(sync_batchnorm_statistics)
TIMBRE_INSTANTIATE_KERNEL(sync_batchnorm_apply)
TIMBRE_INSTANTIATE_KERNEL(sync_batchnorm_gradient_sums)
TIMBRE_INSTANTIATE_KERNEL(sync_batchnorm_backward)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
