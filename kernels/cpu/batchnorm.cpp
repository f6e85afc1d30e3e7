// BatchNorm over the channel (last) axis of a (rows, channels) matrix, Keras'
// semantics. With few channels (8 in the seed models) a loop over channels is
// too short to vectorise, so every pass walks the matrix as one flat array in
// stretches of L elements, L a multiple of both the channel count and 16:
// element l of a stretch belongs to channel l % C, and per-channel constants
// are expanded once to per-lane arrays. Channel sums run in parallel with
// per-thread partials, accumulated in double so float32 statistics stay accurate.
// batchnorm_pool_* fuse the training-mode batch norm with LeakyReLU and max
// pooling: the forward pools the normalised values as it computes them, and
// the backward sums gamma's and beta's gradients over the windows' maxima only.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "kernels/cpu/constant.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/pool_window.h"
#include "kernels/cpu/simd.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

namespace {
struct Stretches {
  int64_t lanes;  // L
  int64_t count;  // whole stretches; the remaining elements form a shorter last one
  int64_t total;  // rows * channels

  explicit Stretches(const BatchNormGeometry& g)
      : lanes(g.channels * (16 / std::gcd<int64_t>(g.channels, 16))),
        count(g.rows * g.channels / lanes),
        total(g.rows * g.channels) {}
  int64_t length(int64_t s) const { return s < count ? lanes : total - count * lanes; }
};

// Per-lane copy of a per-channel value: out[l] = f(l % C).
template <class F>
std::vector<double> per_lane(const BatchNormGeometry& g, const Stretches& st, F f) {
  std::vector<double> out(static_cast<size_t>(st.lanes));
  for (int64_t l = 0; l < st.lanes; ++l) out[static_cast<size_t>(l)] = f(l % g.channels);
  return out;
}

// Calls body(first element, length) for every stretch, in parallel for large matrices.
template <class Body>
void for_each_stretch(const Stretches& st, Body body) {
  TIMBRE_PARALLEL_FOR_IF(st.total >= kElementwiseGrain)
  for (int64_t s = 0; s <= st.count; ++s) body(s * st.lanes, st.length(s));
}

// sums[k*C + c] = sum over the elements i of channel c of term(i, l)[k], l = lane of i,
// for K terms written by term(i, l, out).
template <int K, class Term>
std::vector<double> channel_sums(const BatchNormGeometry& g, const Stretches& st, Term term) {
  const std::vector<double> lane_sums = per_thread_sums(
      st.count + 1, K * st.lanes, st.total >= kElementwiseGrain, [&](int64_t first, int64_t last, double* local) {
        for (int64_t s = first; s < last; ++s)
          for (int64_t l = 0, start = s * st.lanes; l < st.length(s); ++l) {
            double v[K];
            term(start + l, l, v);
            for (int k = 0; k < K; ++k) local[k * st.lanes + l] += v[k];
          }
      });
  std::vector<double> sums(static_cast<size_t>(K * g.channels), 0.0);
  for (int k = 0; k < K; ++k)
    for (int64_t l = 0; l < st.lanes; ++l)
      sums[static_cast<size_t>(k * g.channels + l % g.channels)] += lane_sums[static_cast<size_t>(k * st.lanes + l)];
  return sums;
}

// y[i] (+)= (x[i] - center[l]) * scale[l] + shift[l], in T. Centring first keeps
// float32 accurate for data far from zero.
template <class T>
void affine(const Stretches& st, const T* x, const std::vector<double>& center, const std::vector<double>& scale,
            const std::vector<double>& shift, bool accumulate, T* y) {
  const std::vector<T> m(center.begin(), center.end()), a(scale.begin(), scale.end()), b(shift.begin(), shift.end());
  for_each_stretch(st, [&](int64_t first, int64_t length) {
    for (int64_t l = 0; l < length; ++l) {
      const T v = (x[first + l] - m[l]) * a[l] + b[l];
      y[first + l] = accumulate ? y[first + l] + v : v;
    }
  });
}

// Channel c's statistics from its mean and variance: mean, inv_std = 1/sqrt(var + eps)
// and the moving statistics' update, each written when not null.
template <class T>
void store_statistics(int64_t c, double mu, double var, T eps, T momentum, T* mean, T* inv_std, T* moving_mean,
                      T* moving_var) {
  mean[c] = static_cast<T>(mu);
  if (inv_std) inv_std[c] = static_cast<T>(1.0 / std::sqrt(var + static_cast<double>(eps)));
  if (moving_mean) moving_mean[c] = moving_mean[c] * momentum + static_cast<T>(mu) * (T(1) - momentum);
  if (moving_var) moving_var[c] = moving_var[c] * momentum + static_cast<T>(var) * (T(1) - momentum);
}

// [sum (x - center), sum (x - center)^2] per channel.
template <class T, class Center>
std::vector<double> moments(const BatchNormGeometry& g, const Stretches& st, const T* x, Center center) {
  const std::vector<double> lane_center = per_lane(g, st, center);
  return channel_sums<2>(g, st, [&](int64_t i, int64_t l, double* v) {
    const double d = x[i] - lane_center[l];
    v[0] = d;
    v[1] = d * d;
  });
}

// The batch statistics of this process's rows: the second pass around the
// first's mean, so data far from zero (dB values) loses nothing to cancellation.
template <class T>
void batch_statistics(const BatchNormGeometry& g, const Stretches& st, T eps, T momentum, const T* x, T* mean,
                      T* inv_std, T* moving_mean, T* moving_var) {
  const double rows = static_cast<double>(g.rows);
  const std::vector<double> sums = moments(g, st, x, [](int64_t) { return 0.0; });
  const std::vector<double> squares = moments(g, st, x, [&](int64_t c) { return sums[c] / rows; });
  for (int64_t c = 0; c < g.channels; ++c)
    store_statistics(c, sums[c] / rows, squares[g.channels + c] / rows, eps, momentum, mean, inv_std, moving_mean,
                     moving_var);
}

// y = (x - mean) * inv_std * gamma + beta.
template <class T>
void normalize(const BatchNormGeometry& g, const Stretches& st, const T* x, const T* gamma, const T* beta,
               const T* mean, const T* inv_std, T* y) {
  affine(st, x, per_lane(g, st, [&](int64_t c) { return static_cast<double>(mean[c]); }),
         per_lane(g, st, [&](int64_t c) { return static_cast<double>(inv_std[c]) * gamma[c]; }),
         per_lane(g, st, [&](int64_t c) { return static_cast<double>(beta[c]); }), false, y);
}

// [sum gy, sum gy * xhat] per channel, xhat = (x - mean) * inv_std.
template <class T>
std::vector<double> gradient_sums(const BatchNormGeometry& g, const Stretches& st, const T* x, const T* mean,
                                  const T* inv_std, const T* gy) {
  std::vector<T> lane_mean(static_cast<size_t>(st.lanes)), lane_inv(static_cast<size_t>(st.lanes));
  for (int64_t l = 0; l < st.lanes; ++l) {
    lane_mean[l] = mean[l % g.channels];
    lane_inv[l] = inv_std[l % g.channels];
  }
  return channel_sums<2>(g, st, [&](int64_t i, int64_t l, double* v) {
    v[0] = gy[i];
    v[1] = static_cast<double>(gy[i]) * ((x[i] - lane_mean[l]) * lane_inv[l]);
  });
}

// gbeta += sums[c], ggamma += sums[C + c], each when not null.
template <class T>
void add_parameter_gradients(int64_t C, const std::vector<double>& sums, T* ggamma, T* gbeta) {
  for (int64_t c = 0; c < C; ++c) {
    if (gbeta) gbeta[c] += static_cast<T>(sums[c]);
    if (ggamma) ggamma[c] += static_cast<T>(sums[C + c]);
  }
}

// Batch norm's training input gradient from sums = [sum gy, sum gy * xhat] per channel
// over `count` rows: gx += gamma * inv_std * (gy - mean(gy) - xhat * mean(gy * xhat)),
// xhat = (x - mean) * inv_std, as gx += a * gy + b * (x - mean) + d per channel.
// gy null: its term is added elsewhere.
template <class T>
void add_input_gradient(const BatchNormGeometry& g, const Stretches& st, int64_t count, const T* x, const T* gamma,
                        const T* mean, const T* inv_std, const std::vector<double>& sums, const T* gy, T* gx) {
  const int64_t C = g.channels;
  const double m = static_cast<double>(count);
  std::vector<T> a(static_cast<size_t>(st.lanes)), b(a), d(a), lane_mean(a);
  for (int64_t l = 0; l < st.lanes; ++l) {
    const int64_t c = l % C;
    const double k = static_cast<double>(gamma[c]) * inv_std[c];
    a[l] = static_cast<T>(k);
    b[l] = static_cast<T>(-k * sums[C + c] / m * inv_std[c]);
    d[l] = static_cast<T>(-k * sums[c] / m);
    lane_mean[l] = mean[c];
  }
  for_each_stretch(st, [&](int64_t first, int64_t length) {
    if (gy)
      for (int64_t l = 0; l < length; ++l)
        gx[first + l] += a[l] * gy[first + l] + b[l] * (x[first + l] - lane_mean[l]) + d[l];
    else
      for (int64_t l = 0; l < length; ++l) gx[first + l] += b[l] * (x[first + l] - lane_mean[l]) + d[l];
  });
}
}  // namespace

template <class T>
void batchnorm_forward_train(const BatchNormGeometry& g, T eps, T momentum, const T* x, const T* gamma,
                             const T* beta, T* y, T* mean, T* inv_std, T* moving_mean, T* moving_var) {
  const Stretches st(g);
  batch_statistics(g, st, eps, momentum, x, mean, inv_std, moving_mean, moving_var);
  normalize(g, st, x, gamma, beta, mean, inv_std, y);
}

template <class T>
void batchnorm_backward_train(const BatchNormGeometry& g, const T* x, const T* gamma, const T* mean, const T* inv_std,
                              const T* gy, T* gx, T* ggamma, T* gbeta) {
  const Stretches st(g);
  const std::vector<double> sums = gradient_sums(g, st, x, mean, inv_std, gy);
  add_parameter_gradients(g.channels, sums, ggamma, gbeta);
  if (gx) add_input_gradient(g, st, g.rows, x, gamma, mean, inv_std, sums, gy, gx);
}

template <class T>
void batchnorm_forward_infer(const BatchNormGeometry& g, T eps, const T* x, const T* gamma, const T* beta,
                             const T* moving_mean, const T* moving_var, T* y) {
  const Stretches st(g);
  affine(st, x, per_lane(g, st, [&](int64_t c) { return static_cast<double>(moving_mean[c]); }),
         per_lane(g, st, [&](int64_t c) { return static_cast<double>(gamma[c] / std::sqrt(moving_var[c] + eps)); }),
         per_lane(g, st, [&](int64_t c) { return static_cast<double>(beta[c]); }), false, y);
}

template <class T>
void batchnorm_backward_infer(const BatchNormGeometry& g, T eps, const T* x, const T* gamma, const T* moving_mean,
                              const T* moving_var, const T* gy, T* gx, T* ggamma, T* gbeta) {
  const Stretches st(g);
  std::vector<T> inv_std(static_cast<size_t>(g.channels));
  for (int64_t c = 0; c < g.channels; ++c) inv_std[c] = T(1) / std::sqrt(moving_var[c] + eps);
  if (ggamma || gbeta)
    add_parameter_gradients(g.channels, gradient_sums(g, st, x, moving_mean, inv_std.data(), gy), ggamma, gbeta);
  if (!gx) return;
  const std::vector<double> zeros(static_cast<size_t>(st.lanes), 0.0);
  affine(st, gy, zeros,
         per_lane(g, st, [&](int64_t c) { return static_cast<double>(gamma[c] / std::sqrt(moving_var[c] + eps)); }),
         zeros, true, gx);
}

// ---------------------------------------------------------------- split for statistics across processes
template <class T>
void sync_batchnorm_moments(const BatchNormGeometry& g, const T* x, const T* center, T* sums) {
  const std::vector<double> s =
      moments(g, Stretches(g), x, [&](int64_t c) { return center ? static_cast<double>(center[c]) : 0.0; });
  std::copy(s.begin(), s.end(), sums);
}

template <class T>
void sync_batchnorm_statistics(int64_t channels, int64_t count, T eps, T momentum, const T* center, const T* sums,
                               T* mean, T* inv_std, T* moving_mean, T* moving_var) {
  const double n = static_cast<double>(count);
  for (int64_t c = 0; c < channels; ++c) {
    const double shift = sums[c] / n;  // the mean's distance from the center
    store_statistics(c, (center ? center[c] : T(0)) + shift, std::max(0.0, sums[channels + c] / n - shift * shift), eps,
                     momentum, mean, inv_std, moving_mean, moving_var);
  }
}

template <class T>
void sync_batchnorm_apply(const BatchNormGeometry& g, const T* x, const T* gamma, const T* beta, const T* mean,
                          const T* inv_std, T* y) {
  normalize(g, Stretches(g), x, gamma, beta, mean, inv_std, y);
}

template <class T>
void sync_batchnorm_gradient_sums(const BatchNormGeometry& g, const T* x, const T* mean, const T* inv_std, const T* gy,
                                  T* sums, T* ggamma, T* gbeta) {
  const std::vector<double> s = gradient_sums(g, Stretches(g), x, mean, inv_std, gy);
  add_parameter_gradients(g.channels, s, ggamma, gbeta);
  std::copy(s.begin(), s.end(), sums);
}

template <class T>
void sync_batchnorm_backward(const BatchNormGeometry& g, int64_t count, const T* x, const T* gamma, const T* mean,
                             const T* inv_std, const T* sums, const T* gy, T* gx) {
  const std::vector<double> s(sums, sums + 2 * g.channels);
  add_input_gradient(g, Stretches(g), count, x, gamma, mean, inv_std, s, gy, gx);
}

// ---------------------------------------------------------------- fused with LeakyReLU and max pooling
namespace {
constexpr int64_t kPoolChunk = 8;  // channels per vector in the pooling pass
template <class T>
using ChunkVec = typename simd::Lanes<T, kPoolChunk>::type;

// Count values from p; the other lanes hold whatever follows p (never stored)
// unless that would read past `end`. A partial copy into a vector goes through
// the stack (a stalled reload per load), so whole loads are taken wherever they may.
template <class T, int Count>
[[gnu::always_inline]] inline ChunkVec<T> load_chunk(const T* p, const T* end) {
  ChunkVec<T> v{};
  if (Count == kPoolChunk || p + kPoolChunk <= end)  // two constant sizes: a runtime one calls memcpy
    std::memcpy(&v, p, sizeof v);
  else
    std::memcpy(&v, p, Count * sizeof(T));
  return v;
}

// The windows of one row of pooled outputs, channels [c0, c0 + Count): the
// first maximum of the normalised values (row-major, strict >), then LeakyReLU.
template <class T, int Count>
void pool_normalised_row(const Pool2dGeometry& g, T negative_slope, const T* x, const T* center, const T* scale,
                         const T* shift, int64_t n, int64_t py, int64_t c0, T* y, T* argmax) {
  using V = ChunkVec<T>;
  const T* end = x + g.batch * g.in_h * g.in_w * g.channels;
  // The per-channel constants are padded to whole chunks.
  const V m = load_chunk<T, kPoolChunk>(center + c0, nullptr), a = load_chunk<T, kPoolChunk>(scale + c0, nullptr),
          b = load_chunk<T, kPoolChunk>(shift + c0, nullptr);
  const auto normalised = [&](const T* p) { return (load_chunk<T, Count>(p, end) - m) * a + b; };
  for (int64_t px = 0; px < g.out_w; ++px) {
    const T* corner = x + ((n * g.in_h + py * g.pool_h) * g.in_w + px * g.pool_w) * g.channels + c0;
    V best = normalised(corner), first{};
    for (int64_t dy = 0; dy < g.pool_h; ++dy)
      for (int64_t dx = 0; dx < g.pool_w; ++dx) {  // (0, 0) again: never greater than itself
        const V v = normalised(corner + (dy * g.in_w + dx) * g.channels);
        const auto greater = v > best;
        best = greater ? v : best;
        first = greater ? V{} + static_cast<T>(dy * g.pool_w + dx) : first;
      }
    const V out = best > 0 ? best : negative_slope * best;
    const int64_t at = ((n * g.out_h + py) * g.out_w + px) * g.channels + c0;
    std::memcpy(y + at, &out, Count * sizeof(T));
    if (argmax) std::memcpy(argmax + at, &first, Count * sizeof(T));
  }
}
}  // namespace

template <class T>
void batchnorm_pool_forward_train(const Pool2dGeometry& g, T eps, T momentum, T negative_slope, const T* x,
                                  const T* gamma, const T* beta, T* y, T* argmax, T* mean, T* inv_std, T* moving_mean,
                                  T* moving_var) {
  const BatchNormGeometry bg{g.batch * g.in_h * g.in_w, g.channels};
  const Stretches st(bg);
  batch_statistics(bg, st, eps, momentum, x, mean, inv_std, moving_mean, moving_var);
  // Per-channel constants padded to whole chunks: v = (x - mean) * scale + beta, as batchnorm_forward_train.
  const int64_t padded = (g.channels + kPoolChunk - 1) / kPoolChunk * kPoolChunk;
  std::vector<T> center(static_cast<size_t>(padded)), scale(center), shift(center);
  for (int64_t c = 0; c < g.channels; ++c) {
    center[c] = mean[c];
    scale[c] = static_cast<T>(static_cast<double>(inv_std[c]) * gamma[c]);
    shift[c] = beta[c];
  }
  TIMBRE_PARALLEL_FOR_IF(bg.rows * g.channels >= kElementwiseGrain)
  for (int64_t row = 0; row < g.batch * g.out_h; ++row)
    for (int64_t c0 = 0; c0 < g.channels; c0 += kPoolChunk)
      with_constant<kPoolChunk>(std::min(kPoolChunk, g.channels - c0), [&](auto count) {
        pool_normalised_row<T, decltype(count)::value>(g, negative_slope, x, center.data(), scale.data(), shift.data(),
                                                       row / g.out_h, row % g.out_h, c0, y, argmax);
      });
}

template <class T>
void batchnorm_pool_backward_train(const Pool2dGeometry& g, T negative_slope, const T* x, const T* gamma, const T* mean,
                                   const T* inv_std, const T* y, const T* argmax, const T* gy, T* gx, T* ggamma,
                                   T* gbeta) {
  const int64_t C = g.channels;
  const BatchNormGeometry bg{g.batch * g.in_h * g.in_w, C};
  const int64_t rows = g.batch * g.out_h, work = rows * g.out_w * C;
  const std::vector<int64_t> offset = window_offsets(g.pool_h, g.pool_w, g.in_w * C, C);
  // The sparse pass: [sum ga, sum ga * xhat] per channel; gx gets its gamma * inv_std * ga
  // term at each argmax (windows do not overlap).
  const std::vector<double> sums =
      per_thread_sums(rows, 2 * C, work >= kElementwiseGrain, [&](int64_t first, int64_t last, double* local) {
        for (int64_t row = first; row < last; ++row) {
          const int64_t n = row / g.out_h, py = row % g.out_h;
          for (int64_t px = 0; px < g.out_w; ++px) {
            const int64_t corner = ((n * g.in_h + py * g.pool_h) * g.in_w + px * g.pool_w) * C;
            const int64_t out = (row * g.out_w + px) * C;
            for (int64_t c = 0; c < C; ++c) {
              const T ga = gy[out + c] * (y[out + c] > 0 ? T(1) : negative_slope);
              const int64_t i = corner + offset[static_cast<size_t>(argmax[out + c])] + c;
              local[c] += ga;
              local[C + c] += static_cast<double>(ga) * ((x[i] - mean[c]) * inv_std[c]);
              if (gx) gx[i] += gamma[c] * inv_std[c] * ga;
            }
          }
        }
      });
  add_parameter_gradients(C, sums, ggamma, gbeta);
  if (gx)
    add_input_gradient(bg, Stretches(bg), bg.rows, x, gamma, mean, inv_std, sums, static_cast<const T*>(nullptr), gx);
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

}  // namespace timbre::kernels::cpu
