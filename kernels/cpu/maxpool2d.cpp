// MaxPool2D, channels-last. Forward finds each window's first maximum
// (row-major; strict > keeps the first) and, when training, saves its window
// position so that backward is one scatter-add per output element.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/pool_window.h"
#include "kernels/cpu/simd.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

namespace {
constexpr int64_t kChunk = 8;  // channels per pass of a window: one vector

// One window, `count` (<= kChunk) channels from x + corner, as vector
// compare-and-select (GCC will not if-convert the scalar form, because of NaN).
template <class T>
[[gnu::always_inline]] inline void window_forward(const Pool2dGeometry& g, const T* x, int64_t corner,
                                                  int64_t count, T* y, T* argmax) {
  using V = typename simd::Lanes<T, kChunk>::type;
  const size_t bytes = static_cast<size_t>(count) * sizeof(T);
  // Whole-vector loads read past the chunk's channels (the lanes are never
  // stored), except at the very end of x, where partial loads stay inside it.
  const int64_t last = corner + ((g.pool_h - 1) * g.in_w + g.pool_w - 1) * g.channels;
  const bool whole = last + kChunk <= g.batch * g.in_h * g.in_w * g.channels;
  const auto load = [&](V& v, const T* src) {
    if (whole)
      std::memcpy(&v, src, sizeof(V));
    else
      std::memcpy(&v, src, bytes);
  };
  V best{}, first{}, in{};
  load(best, x + corner);
  for (int64_t ph = 0; ph < g.pool_h; ++ph)
    for (int64_t pw = 0; pw < g.pool_w; ++pw) {  // (0, 0) again: never greater than itself
      load(in, x + corner + (ph * g.in_w + pw) * g.channels);
      const auto greater = in > best;  // strict: ties keep the first
      best = greater ? in : best;
      first = greater ? V{} + static_cast<T>(ph * g.pool_w + pw) : first;
    }
  std::memcpy(y, &best, bytes);
  if (argmax) std::memcpy(argmax, &first, bytes);
}

// All windows of sample n; Count > 0 fixes the chunk's channel count at compile time.
template <class T, int64_t Count>
void sample_forward(const Pool2dGeometry& g, const T* x, T* y, T* argmax, int64_t n) {
  for (int64_t oh = 0; oh < g.out_h; ++oh)
    for (int64_t ow = 0; ow < g.out_w; ++ow)
      for (int64_t c0 = 0; c0 < g.channels; c0 += kChunk) {
        const int64_t corner = ((n * g.in_h + oh * g.stride_h) * g.in_w + ow * g.stride_w) * g.channels + c0;
        const int64_t out = ((n * g.out_h + oh) * g.out_w + ow) * g.channels + c0;
        window_forward(g, x, corner, Count > 0 ? Count : std::min(kChunk, g.channels - c0), y + out,
                       argmax ? argmax + out : nullptr);
      }
}
}  // namespace

template <class T>
void maxpool2d_forward(const Pool2dGeometry& g, const T* x, T* y, T* argmax) {
  TIMBRE_PARALLEL_FOR_IF(g.batch * g.in_h * g.in_w * g.channels >= kElementwiseGrain)
  for (int64_t n = 0; n < g.batch; ++n) {
    switch (g.channels) {  // the seed models' channel counts, and whole chunks
      case 3: sample_forward<T, 3>(g, x, y, argmax, n); break;
      case 4: sample_forward<T, 4>(g, x, y, argmax, n); break;
      case 6: sample_forward<T, 6>(g, x, y, argmax, n); break;
      default:
        if (g.channels % kChunk == 0)
          sample_forward<T, kChunk>(g, x, y, argmax, n);
        else
          sample_forward<T, 0>(g, x, y, argmax, n);
    }
  }
}

template <class T>
void maxpool2d_backward(const Pool2dGeometry& g, const T* argmax, const T* gy, T* gx) {
  const std::vector<int64_t> offset = window_offsets(g.pool_h, g.pool_w, g.in_w * g.channels, g.channels);
  // Parallel over samples: windows may overlap (stride < pool) only within a sample.
  TIMBRE_PARALLEL_FOR_IF(g.batch * g.out_h * g.out_w * g.channels >= kElementwiseGrain)
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t out = ((n * g.out_h + oh) * g.out_w + ow) * g.channels;
        T* corner = gx + ((n * g.in_h + oh * g.stride_h) * g.in_w + ow * g.stride_w) * g.channels;
        for (int64_t c = 0; c < g.channels; ++c)
          corner[offset[static_cast<size_t>(argmax[out + c])] + c] += gy[out + c];
      }
}

TIMBRE_INSTANTIATE_KERNEL(maxpool2d_forward)
TIMBRE_INSTANTIATE_KERNEL(maxpool2d_backward)

}  // namespace timbre::kernels::cpu
