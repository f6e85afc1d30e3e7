// MaxPool2D, channels-last; backward routes each window's gradient to the
// first maximum (row-major), recomputed from x so nothing is saved.
#include <algorithm>

#include "kernels/cpu/parallel.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

template <class T>
void maxpool2d_forward(const Pool2dGeometry& g, const T* x, T* y) {
  TIMBRE_PARALLEL_FOR_IF(g.batch * g.in_h * g.in_w * g.channels >= kElementwiseGrain)
  for (int64_t r = 0; r < g.batch * g.out_h; ++r) {
    const int64_t n = r / g.out_h, oh = r % g.out_h;
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      T* out = y + ((n * g.out_h + oh) * g.out_w + ow) * g.channels;
      for (int64_t ph = 0; ph < g.pool_h; ++ph)
        for (int64_t pw = 0; pw < g.pool_w; ++pw) {
          const T* in = x + ((n * g.in_h + oh * g.stride_h + ph) * g.in_w + ow * g.stride_w + pw) * g.channels;
          if (ph == 0 && pw == 0)
            for (int64_t c = 0; c < g.channels; ++c) out[c] = in[c];
          else
            for (int64_t c = 0; c < g.channels; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
        }
    }
  }
}

namespace {
// One window's backward for `count` (<= kChunk) channels starting at x + corner.
// Branch-free loops over contiguous channels: each channel's first maximum
// (row-major; strict > keeps the first), then the gradient goes to it. Kept
// apart so that a compile-time `count` unrolls and vectorises them.
constexpr int64_t kChunk = 16;

template <class T>
[[gnu::always_inline]] inline void window_backward(const Pool2dGeometry& g, const T* x, const T* grad, T* gx,
                                                   int64_t corner, int64_t count) {
  T best[kChunk];
  int32_t first[kChunk];
  for (int64_t c = 0; c < count; ++c) {
    best[c] = x[corner + c];
    first[c] = 0;
  }
  for (int32_t p = 1; p < g.pool_h * g.pool_w; ++p) {
    const T* in = x + corner + ((p / g.pool_w) * g.in_w + p % g.pool_w) * g.channels;
    for (int64_t c = 0; c < count; ++c) {
      const bool greater = in[c] > best[c];
      best[c] = greater ? in[c] : best[c];
      first[c] = greater ? p : first[c];
    }
  }
  for (int32_t p = 0; p < g.pool_h * g.pool_w; ++p) {
    T* out = gx + corner + ((p / g.pool_w) * g.in_w + p % g.pool_w) * g.channels;
    for (int64_t c = 0; c < count; ++c) out[c] += first[c] == p ? grad[c] : T(0);
  }
}

// All windows of sample n; Count > 0 fixes the chunk's channel count at compile time.
template <class T, int64_t Count>
void sample_backward(const Pool2dGeometry& g, const T* x, const T* gy, T* gx, int64_t n) {
  for (int64_t oh = 0; oh < g.out_h; ++oh)
    for (int64_t ow = 0; ow < g.out_w; ++ow)
      for (int64_t c0 = 0; c0 < g.channels; c0 += kChunk) {
        const int64_t corner = ((n * g.in_h + oh * g.stride_h) * g.in_w + ow * g.stride_w) * g.channels + c0;
        const T* grad = gy + ((n * g.out_h + oh) * g.out_w + ow) * g.channels + c0;
        window_backward(g, x, grad, gx, corner, Count > 0 ? Count : std::min(kChunk, g.channels - c0));
      }
}
}  // namespace

template <class T>
void maxpool2d_backward(const Pool2dGeometry& g, const T* x, const T* gy, T* gx) {
  // Parallel over samples: windows may overlap (stride < pool) only within a sample.
  TIMBRE_PARALLEL_FOR_IF(g.batch * g.in_h * g.in_w * g.channels >= kElementwiseGrain)
  for (int64_t n = 0; n < g.batch; ++n) {
    switch (g.channels) {  // the seed models' channel counts, and whole chunks
      case 3: sample_backward<T, 3>(g, x, gy, gx, n); break;
      case 4: sample_backward<T, 4>(g, x, gy, gx, n); break;
      case 6: sample_backward<T, 6>(g, x, gy, gx, n); break;
      case 8: sample_backward<T, 8>(g, x, gy, gx, n); break;
      default:
        if (g.channels % kChunk == 0)
          sample_backward<T, kChunk>(g, x, gy, gx, n);
        else
          sample_backward<T, 0>(g, x, gy, gx, n);
    }
  }
}

TIMBRE_INSTANTIATE_KERNEL(maxpool2d_forward)
TIMBRE_INSTANTIATE_KERNEL(maxpool2d_backward)

}  // namespace timbre::kernels::cpu
