// BatchNorm over the channel (last) axis of a (rows, channels) matrix, Keras'
// semantics. With few channels (8 in the seed models) a loop over channels is
// too short to vectorise, so every pass walks the matrix as one flat array in
// stretches of L elements, L a multiple of both the channel count and 16:
// element l of a stretch belongs to channel l % C, and per-channel constants
// are expanded once to per-lane arrays. Channel sums run in parallel with
// per-thread partials, accumulated in double so float32 statistics stay accurate.
#include <cmath>
#include <numeric>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu/parallel.h"
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
void channel_sums(const BatchNormGeometry& g, const Stretches& st, Term term, std::vector<double>& sums) {
  std::vector<double> lane_sums(static_cast<size_t>(K * st.lanes), 0.0);
#ifdef _OPENMP
#pragma omp parallel if (st.total >= kElementwiseGrain)
#endif
  {
    std::vector<double> local(static_cast<size_t>(K * st.lanes), 0.0);
#ifdef _OPENMP
#pragma omp for schedule(static) nowait
#endif
    for (int64_t s = 0; s <= st.count; ++s) {
      const int64_t first = s * st.lanes, length = st.length(s);
      for (int64_t l = 0; l < length; ++l) {
        double v[K];
        term(first + l, l, v);
        for (int k = 0; k < K; ++k) local[static_cast<size_t>(k * st.lanes + l)] += v[k];
      }
    }
#ifdef _OPENMP
#pragma omp critical
#endif
    for (size_t i = 0; i < local.size(); ++i) lane_sums[i] += local[i];
  }
  sums.assign(static_cast<size_t>(K * g.channels), 0.0);
  for (int k = 0; k < K; ++k)
    for (int64_t l = 0; l < st.lanes; ++l)
      sums[static_cast<size_t>(k * g.channels + l % g.channels)] += lane_sums[static_cast<size_t>(k * st.lanes + l)];
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
}  // namespace

template <class T>
void batchnorm_forward_train(const BatchNormGeometry& g, T eps, T momentum, const T* x, const T* gamma,
                             const T* beta, T* y, T* mean, T* inv_std, T* moving_mean, T* moving_var) {
  const int64_t C = g.channels;
  const Stretches st(g);
  std::vector<double> sums;
  channel_sums<1>(g, st, [&](int64_t i, int64_t, double* v) { v[0] = x[i]; }, sums);
  std::vector<double> mu(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) mu[c] = sums[c] / static_cast<double>(g.rows);
  // Second pass around the mean: no cancellation for data far from zero (dB values).
  const std::vector<double> lane_mu = per_lane(g, st, [&](int64_t c) { return mu[c]; });
  channel_sums<1>(g, st, [&](int64_t i, int64_t l, double* v) {
    const double d = x[i] - lane_mu[l];
    v[0] = d * d;
  }, sums);
  for (int64_t c = 0; c < C; ++c) {
    const double var = sums[c] / static_cast<double>(g.rows);
    mean[c] = static_cast<T>(mu[c]);
    inv_std[c] = static_cast<T>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    if (moving_mean) moving_mean[c] = moving_mean[c] * momentum + static_cast<T>(mu[c]) * (T(1) - momentum);
    if (moving_var) moving_var[c] = moving_var[c] * momentum + static_cast<T>(var) * (T(1) - momentum);
  }
  affine(st, x, per_lane(g, st, [&](int64_t c) { return static_cast<double>(mean[c]); }),
         per_lane(g, st, [&](int64_t c) { return static_cast<double>(inv_std[c]) * gamma[c]; }),
         per_lane(g, st, [&](int64_t c) { return static_cast<double>(beta[c]); }), false, y);
}

template <class T>
void batchnorm_backward_train(const BatchNormGeometry& g, const T* x, const T* gamma, const T* mean,
                              const T* inv_std, const T* gy, T* gx, T* ggamma, T* gbeta) {
  const int64_t C = g.channels;
  const Stretches st(g);
  std::vector<T> lane_mean(static_cast<size_t>(st.lanes)), lane_inv(static_cast<size_t>(st.lanes));
  for (int64_t l = 0; l < st.lanes; ++l) {
    lane_mean[l] = mean[l % C];
    lane_inv[l] = inv_std[l % C];
  }
  std::vector<double> sums;  // [0]: sum gy, [1]: sum gy * xhat
  channel_sums<2>(g, st, [&](int64_t i, int64_t l, double* v) {
    v[0] = gy[i];
    v[1] = static_cast<double>(gy[i]) * ((x[i] - lane_mean[l]) * lane_inv[l]);
  }, sums);
  for (int64_t c = 0; c < C; ++c) {
    if (gbeta) gbeta[c] += static_cast<T>(sums[c]);
    if (ggamma) ggamma[c] += static_cast<T>(sums[C + c]);
  }
  if (!gx) return;
  // gx += gamma * inv_std * (gy - mean(gy) - xhat * mean(gy * xhat)), with xhat = (x - mean) * inv_std:
  // gx += a * gy + b * (x - mean) + d per channel.
  const double m = static_cast<double>(g.rows);
  std::vector<T> a(static_cast<size_t>(st.lanes)), b(a), d(a);
  for (int64_t l = 0; l < st.lanes; ++l) {
    const int64_t c = l % C;
    const double k = static_cast<double>(gamma[c]) * inv_std[c];
    a[l] = static_cast<T>(k);
    b[l] = static_cast<T>(-k * sums[C + c] / m * inv_std[c]);
    d[l] = static_cast<T>(-k * sums[c] / m);
  }
  for_each_stretch(st, [&](int64_t first, int64_t length) {
    for (int64_t l = 0; l < length; ++l)
      gx[first + l] += a[l] * gy[first + l] + b[l] * (x[first + l] - lane_mean[l]) + d[l];
  });
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
  const int64_t C = g.channels;
  const Stretches st(g);
  std::vector<T> lane_mean(static_cast<size_t>(st.lanes)), lane_inv(static_cast<size_t>(st.lanes));
  for (int64_t l = 0; l < st.lanes; ++l) {
    lane_mean[l] = moving_mean[l % C];
    lane_inv[l] = T(1) / std::sqrt(moving_var[l % C] + eps);
  }
  if (ggamma || gbeta) {
    std::vector<double> sums;
    channel_sums<2>(g, st, [&](int64_t i, int64_t l, double* v) {
      v[0] = gy[i];
      v[1] = static_cast<double>(gy[i]) * ((x[i] - lane_mean[l]) * lane_inv[l]);
    }, sums);
    for (int64_t c = 0; c < C; ++c) {
      if (gbeta) gbeta[c] += static_cast<T>(sums[c]);
      if (ggamma) ggamma[c] += static_cast<T>(sums[C + c]);
    }
  }
  if (!gx) return;
  const std::vector<double> zeros(static_cast<size_t>(st.lanes), 0.0);
  affine(st, gy, zeros,
         per_lane(g, st, [&](int64_t c) { return static_cast<double>(gamma[c] / std::sqrt(moving_var[c] + eps)); }),
         zeros, true, gx);
}

TIMBRE_INSTANTIATE_KERNEL(batchnorm_forward_train)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_backward_train)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_forward_infer)
TIMBRE_INSTANTIATE_KERNEL(batchnorm_backward_infer)

}  // namespace timbre::kernels::cpu
