// The direct stride-1 convolution's building blocks, shared by conv2d.cpp and
// conv2d_pool.cpp: a sample copied into zero-padded planes (one per input
// channel), and register tiles of a few output rows x one vector of columns x
// up to kChannelBlock output channels accumulated from them. Each caller stores
// a tile its own way: channels-last (convolve_sample, which also serves the
// data gradient), or into a strip that is pooled at once (conv2d_pool.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/constant.h"

#include "kernels/cpu/simd.h"
#include "kernels/geometry.h"

namespace timbre::kernels::cpu::direct {

using simd::kLanes;
using simd::Vec;

// Output channels held in registers at once; more are done in blocks of this size.
inline constexpr int kChannelBlock = 8;
// Largest channel counts the direct convolution takes (conv2d's direct path, the
// fused conv2d_pool); wider layers suit im2col + GEMM.
inline constexpr int64_t kMaxChannels = 16;
// Most output rows one tile computes (kRowBlock<1>).
inline constexpr int64_t kMaxRowBlock = 8;

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// A stride-1 convolution of one (in_h, in_w, in_c) sample into (out_h, out_w, out_c).
struct Geometry {
  int64_t in_h, in_w, in_c, out_h, out_w, out_c, kernel_h, kernel_w, pad_top, pad_left;
};

inline Geometry geometry_of(const Conv2dGeometry& g) {
  return {g.in_h, g.in_w, g.in_c, g.out_h, g.out_w, g.out_c, g.kernel_h, g.kernel_w, g.pad_top, g.pad_left};
}

// Zero-padded planes of one sample, one per input channel, wide enough that a
// full vector tile may start at any output column (and `slack` columns beyond),
// with spare zero rows below for the last block of output rows.
template <class T>
struct Planes {
  int64_t rows, cols;
  std::vector<T> data;

  Planes(const Geometry& d, int64_t slack)
      : rows(d.out_h + d.kernel_h - 1 + kMaxRowBlock - 1), cols(round_up(d.out_w, kLanes<T>) + d.kernel_w - 1 + slack) {
    data.assign(static_cast<size_t>(d.in_c * rows * cols), T(0));
  }
  const T* row(int64_t c, int64_t r) const { return data.data() + (c * rows + r) * cols; }
  T* row(int64_t c, int64_t r) { return data.data() + (c * rows + r) * cols; }

  // Copies sample x (in_h, in_w, in_c); the zero border stays as allocated.
  // Reads x in order (one pass) and writes in_c sequential streams.
  void fill(const Geometry& d, const T* x) {
    const int64_t iw_begin = std::max<int64_t>(0, -d.pad_left), iw_end = std::min(d.in_w, cols - d.pad_left);
    for (int64_t ih = 0; ih < d.in_h; ++ih) {
      const int64_t r = ih + d.pad_top;
      if (r < 0 || r >= rows || iw_begin >= iw_end) continue;
      const T* src = x + ih * d.in_w * d.in_c;
      T* dst = data.data() + r * cols + d.pad_left;
      if (d.in_c == 1) {
        std::copy(src + iw_begin, src + iw_end, dst + iw_begin);
        continue;
      }
      for (int64_t iw = iw_begin; iw < iw_end; ++iw)
        for (int64_t c = 0; c < d.in_c; ++c) dst[c * rows * cols + iw] = src[iw * d.in_c + c];
    }
  }

  // Sum of plane c (its zero border adds nothing).
  double sum(int64_t c) const {
    const T* p = data.data() + c * rows * cols;
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < rows * cols; ++i) s += p[i];
    return static_cast<double>(s);
  }
};

// Output rows computed together: R x CO independent accumulators (at least 8)
// hide the FMA latency and share each weight broadcast across R rows.
template <int CO>
inline constexpr int kRowBlock = CO >= 4 ? 2 : (8 + CO - 1) / CO;

template <class T, int CO>
using Tile = Vec<T>[kRowBlock<CO>][CO];

// acc[r][c] = conv of rows oh + r, columns ow0 .. ow0 + kLanes, output channel
// co0 + c, without bias; rows past out_h come from the planes' spare rows.
template <class T, int CO>
[[gnu::always_inline]] inline void accumulate_tile(const Geometry& d, const Planes<T>& x, const T* w, int64_t oh,
                                                   int64_t ow0, int64_t co0, Tile<T, CO>& acc) {
  constexpr int R = kRowBlock<CO>;
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < CO; ++c) acc[r][c] = Vec<T>{};
  for (int64_t ci = 0; ci < d.in_c; ++ci)
    for (int64_t kh = 0; kh < d.kernel_h; ++kh) {
      const T* rows[R];  // one pointer per output row: no multiply in the tap loop
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) rows[r] = x.row(ci, oh + kh + r) + ow0;
      const T* wk = w + (kh * d.kernel_w * d.in_c + ci) * d.out_c + co0;
      for (int64_t kw = 0; kw < d.kernel_w; ++kw, wk += d.in_c * d.out_c) {
        T weight[CO];
#pragma GCC unroll 8
        for (int c = 0; c < CO; ++c) weight[c] = wk[c];
        // Each loaded vector feeds its CO multiply-adds at once, so one is live at a time.
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const Vec<T> v = simd::load(rows[r] + kw);
#pragma GCC unroll 8
          for (int c = 0; c < CO; ++c) acc[r][c] += v * weight[c];
        }
      }
    }
}

// One tile: y[oh .. oh + R, ow0 .. ow0 + lanes, co0 .. co0 + CO] (+)= conv + bias,
// y one channels-last sample; rows past out_h are computed from the planes'
// spare rows and not stored.
template <class T, int CO>
void channels_last_tile(const Geometry& d, const Planes<T>& x, const T* w, const T* b, int64_t oh, int64_t ow0,
                        int64_t co0, bool accumulate, T* y) {
  constexpr int R = kRowBlock<CO>;
  Tile<T, CO> acc;
  accumulate_tile<T, CO>(d, x, w, oh, ow0, co0, acc);
  // Pixel-major order for the channels-last output: through memory, which the
  // compiler turns into whole-vector stores and strided reloads.
  T bias[CO];
  for (int c = 0; c < CO; ++c) bias[c] = b ? b[co0 + c] : T(0);
  const int64_t width = std::min(kLanes<T>, d.out_w - ow0);
  for (int r = 0; r < R && oh + r < d.out_h; ++r) {
    alignas(64) T planar[CO][kLanes<T>];
    for (int c = 0; c < CO; ++c) std::memcpy(planar[c], &acc[r][c], sizeof(Vec<T>));
    T* out = y + ((oh + r) * d.out_w + ow0) * d.out_c + co0;
    if (width == kLanes<T> && d.out_c == CO && !accumulate) {
      for (int64_t j = 0; j < kLanes<T>; ++j)
        for (int c = 0; c < CO; ++c) out[j * CO + c] = planar[c][j] + bias[c];
      continue;
    }
    for (int64_t j = 0; j < width; ++j, out += d.out_c)
      for (int c = 0; c < CO; ++c) out[c] = (accumulate ? out[c] : T(0)) + planar[c][j] + bias[c];
  }
}

// y (+)= conv(x, w) + b for one sample held in planes; y channels-last.
template <class T>
void convolve_sample(const Geometry& d, const Planes<T>& x, const T* w, const T* b, bool accumulate, T* y) {
  for (int64_t co0 = 0; co0 < d.out_c; co0 += kChannelBlock)
    with_constant<kChannelBlock>(std::min<int64_t>(kChannelBlock, d.out_c - co0), [&](auto co) {
      constexpr int CO = decltype(co)::value;
      for (int64_t oh = 0; oh < d.out_h; oh += kRowBlock<CO>)
        for (int64_t ow0 = 0; ow0 < d.out_w; ow0 += kLanes<T>)
          channels_last_tile<T, CO>(d, x, w, b, oh, ow0, co0, accumulate, y);
    });
}

// The data gradient of a stride-1 convolution is itself one: gx = conv(gy,
// flipped w) with the roles of Cin and Cout exchanged and the padding
// mirrored, gx[ih] = sum_kh gy[ih + pad_top - kh] w[kh].
inline Geometry data_gradient_geometry(const Conv2dGeometry& g) {
  return {g.out_h, g.out_w, g.out_c, g.in_h, g.in_w, g.in_c, g.kernel_h, g.kernel_w, g.kernel_h - 1 - g.pad_top,
          g.kernel_w - 1 - g.pad_left};
}

// w (KH, KW, Cin, Cout) rotated by 180 degrees with Cin and Cout exchanged.
template <class T>
std::vector<T> flipped_kernel(const Conv2dGeometry& g, const T* w) {
  std::vector<T> flipped(static_cast<size_t>(g.kernel_h * g.kernel_w * g.in_c * g.out_c));
  for (int64_t kh = 0; kh < g.kernel_h; ++kh)
    for (int64_t kw = 0; kw < g.kernel_w; ++kw)
      for (int64_t ci = 0; ci < g.in_c; ++ci)
        for (int64_t co = 0; co < g.out_c; ++co)
          flipped[(((g.kernel_h - 1 - kh) * g.kernel_w + (g.kernel_w - 1 - kw)) * g.out_c + co) * g.in_c + ci] =
              w[((kh * g.kernel_w + kw) * g.in_c + ci) * g.out_c + co];
  return flipped;
}

}  // namespace timbre::kernels::cpu::direct
