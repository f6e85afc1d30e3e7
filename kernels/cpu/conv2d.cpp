// Conv2D, channels-last, two algorithms behind one pair of kernels:
// - direct: stride 1 and few channels (every seed model's convolutions: 1 or 8
//   in, 3 to 8 out). Each sample is copied once into zero-padded planes, one
//   per input channel, and register tiles (a few output rows x 64 bytes of
//   columns x up to 8 output channels) are accumulated. im2col + GEMM would spend
//   its time copying K-times-duplicated columns and run a GEMM with N = Cout,
//   far too narrow for a GEMM kernel to reach its rate.
// - im2col + GEMM over chunks of the batch for everything else. Column layout:
//   one row per output pixel, (kh, kw, ci) along the row, which is exactly the
//   order of Keras' kernel (KH, KW, Cin, Cout) viewed as a matrix.
// The data gradient of a stride-1 convolution is itself a stride-1 convolution
// of gy with the flipped kernel, so the direct path serves it too.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/constant.h"
#include "kernels/cpu/direct_conv.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

namespace {
// ------------------------------------------------------------------ direct
using direct::kChannelBlock;
using direct::Planes;
using simd::kLanes;
using simd::load;
using simd::Vec;
using DirectGeometry = direct::Geometry;

template <class T>
T horizontal_sum(const Vec<T>& v) {
  T s = 0;
  for (int64_t j = 0; j < kLanes<T>; ++j) s += v[j];
  return s;
}

// y[n] (+)= conv(x[n], w) + b for every sample, parallel over samples.
template <class T>
void direct_conv(const DirectGeometry& d, int64_t batch, const T* x, const T* w, const T* b, bool accumulate, T* y) {
  const int64_t work = batch * d.out_h * d.out_w * d.out_c * d.kernel_h * d.kernel_w * d.in_c;
#ifdef _OPENMP
#pragma omp parallel if (work >= kElementwiseGrain)
#endif
  {
    Planes<T> planes(d, 0);
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int64_t n = 0; n < batch; ++n) {
      planes.fill(d, x + n * d.in_h * d.in_w * d.in_c);
      T* yn = y + n * d.out_h * d.out_w * d.out_c;
      direct::convolve_sample(d, planes, w, b, accumulate, yn);
    }
  }
  (void)work;
}

// Kernel taps per pass of the weight gradient: KB x CO accumulators, CO
// gradient vectors and one input vector stay within 32 vector registers.
template <int CO>
constexpr int kTapBlock = CO <= 3 ? 8 : CO == 4 ? 6 : CO <= 6 ? 4 : CO == 7 ? 3 : 2;

// gw[kh, kw0 .. kw0 + KB, ci, co0 .. co0 + CO] += sum over pixels of x-plane shifted by the
// tap times the gradient plane, for one sample. Taps past kernel_w read the planes' slack and are dropped.
template <class T, int CO>
void direct_weight_block(const DirectGeometry& d, const Planes<T>& x, const Planes<T>& gy, int64_t ci, int64_t kh,
                         int64_t kw0, int64_t co0, double* gw) {
  constexpr int KB = kTapBlock<CO>;
  Vec<T> acc[KB][CO] = {};
  for (int64_t oh = 0; oh < d.out_h; ++oh) {
    const T* xrow = x.row(ci, oh + kh) + kw0;
    for (int64_t ow0 = 0; ow0 < d.out_w; ow0 += kLanes<T>) {
      Vec<T> g[CO];
      for (int c = 0; c < CO; ++c) g[c] = load(gy.row(co0 + c, oh) + ow0);
      for (int k = 0; k < KB; ++k) {
        const Vec<T> v = load(xrow + ow0 + k);
        for (int c = 0; c < CO; ++c) acc[k][c] += v * g[c];
      }
    }
  }
  for (int k = 0; k < KB && kw0 + k < d.kernel_w; ++k)
    for (int c = 0; c < CO; ++c)
      gw[((kh * d.kernel_w + kw0 + k) * d.in_c + ci) * d.out_c + co0 + c] += horizontal_sum<T>(acc[k][c]);
}

// gw += sum_n correlation(x[n], gy[n]); gb += sum of gy, summed in double by per_thread_sums.
template <class T>
void direct_weight_gradient(const DirectGeometry& d, int64_t batch, const T* x, const T* gy, T* gw, T* gb) {
  const int64_t wsize = d.kernel_h * d.kernel_w * d.in_c * d.out_c;
  const int64_t work = batch * d.out_h * d.out_w * wsize;
  // gy's planes: channel c is row-major (out_h, out_w) with no border; x's need
  // kTapBlock - 1 extra columns for the dropped taps.
  const DirectGeometry gy_layout{d.out_h, d.out_w, d.out_c, d.out_h, d.out_w, d.out_c, 1, 1, 0, 0};
  const std::vector<double> sums = per_thread_sums(
      batch, wsize + d.out_c, work >= kElementwiseGrain, [&](int64_t first, int64_t last, double* gw_local) {
        double* gb_local = gw_local + wsize;
        Planes<T> xp(d, kTapBlock<1>), gp(gy_layout, 0);
        for (int64_t n = first; n < last; ++n) {
          xp.fill(d, x + n * d.in_h * d.in_w * d.in_c);
          gp.fill(gy_layout, gy + n * d.out_h * d.out_w * d.out_c);
          if (gb)
            for (int64_t c = 0; c < d.out_c; ++c) gb_local[c] += gp.sum(c);
          if (!gw) continue;
          for (int64_t co0 = 0; co0 < d.out_c; co0 += kChannelBlock)
            with_constant<kChannelBlock>(std::min<int64_t>(kChannelBlock, d.out_c - co0), [&](auto co) {
              constexpr int CO = decltype(co)::value;
              for (int64_t ci = 0; ci < d.in_c; ++ci)
                for (int64_t kh = 0; kh < d.kernel_h; ++kh)
                  for (int64_t kw0 = 0; kw0 < d.kernel_w; kw0 += kTapBlock<CO>)
                    direct_weight_block<T, CO>(d, xp, gp, ci, kh, kw0, co0, gw_local);
            });
        }
      });
  if (gw)
    for (int64_t i = 0; i < wsize; ++i) gw[i] += static_cast<T>(sums[i]);
  if (gb)
    for (int64_t c = 0; c < d.out_c; ++c) gb[c] += static_cast<T>(sums[wsize + c]);
}

bool use_direct(const Conv2dGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.in_c <= direct::kMaxChannels && g.out_c <= direct::kMaxChannels &&
         g.pad_top < g.kernel_h && g.pad_left < g.kernel_w;
}

// dx = conv(gy, flipped w): a direct convolution (direct_conv.h).
template <class T>
void direct_data_gradient(const Conv2dGeometry& g, const T* w, const T* gy, T* gx) {
  const std::vector<T> flipped = direct::flipped_kernel(g, w);
  direct_conv(direct::data_gradient_geometry(g), g.batch, gy, flipped.data(), static_cast<const T*>(nullptr), true,
              gx);
}

// ------------------------------------------------------------------ im2col + GEMM
constexpr int64_t kColumnBufferElements = 1 << 21;  // about 8 MB of float per chunk

// Fills col (rows = count * OH * OW, cols = KH*KW*Cin) from samples [first, first + count).
template <class T>
void im2col(const Conv2dGeometry& g, const T* x, int64_t first, int64_t count, T* col) {
  const int64_t row_len = g.kernel_h * g.kernel_w * g.in_c;
  TIMBRE_PARALLEL_FOR_IF(count * g.out_h * g.out_w * row_len >= kElementwiseGrain)
  for (int64_t r = 0; r < count * g.out_h; ++r) {
    const int64_t n = first + r / g.out_h, oh = r % g.out_h;
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      T* dst = col + (r * g.out_w + ow) * row_len;
      for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const int64_t ih = oh * g.stride_h + kh - g.pad_top;
        for (int64_t kw = 0; kw < g.kernel_w; ++kw, dst += g.in_c) {
          const int64_t iw = ow * g.stride_w + kw - g.pad_left;
          if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) {
            std::fill_n(dst, g.in_c, T(0));
          } else {
            const T* src = x + ((n * g.in_h + ih) * g.in_w + iw) * g.in_c;
            std::copy_n(src, g.in_c, dst);
          }
        }
      }
    }
  }
}

// Adds col back into gx (the adjoint of im2col). Parallel over samples: no two
// threads touch the same sample.
template <class T>
void col2im_add(const Conv2dGeometry& g, const T* col, int64_t first, int64_t count, T* gx) {
  const int64_t row_len = g.kernel_h * g.kernel_w * g.in_c;
  TIMBRE_PARALLEL_FOR_IF(count * g.out_h * g.out_w * row_len >= kElementwiseGrain)
  for (int64_t s = 0; s < count; ++s) {
    const int64_t n = first + s;
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const T* src = col + ((s * g.out_h + oh) * g.out_w + ow) * row_len;
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          const int64_t ih = oh * g.stride_h + kh - g.pad_top;
          for (int64_t kw = 0; kw < g.kernel_w; ++kw, src += g.in_c) {
            const int64_t iw = ow * g.stride_w + kw - g.pad_left;
            if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
            T* dst = gx + ((n * g.in_h + ih) * g.in_w + iw) * g.in_c;
            for (int64_t c = 0; c < g.in_c; ++c) dst[c] += src[c];
          }
        }
      }
  }
}

template <class T>
void gemm_conv_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t row_len = g.kernel_h * g.kernel_w * g.in_c;
  const int64_t pixels = g.out_h * g.out_w;
  const int64_t chunk = samples_per_chunk(g, kColumnBufferElements);
  std::vector<T> col(static_cast<size_t>(chunk * pixels * row_len));
  for_each_sample_chunk(g, chunk, [&](int64_t first, int64_t count) {
    im2col(g, x, first, count, col.data());
    T* yc = y + first * pixels * g.out_c;
    for (int64_t r = 0; r < count * pixels; ++r)
      for (int64_t o = 0; o < g.out_c; ++o) yc[r * g.out_c + o] = b ? b[o] : T(0);
    gemm<T>(false, false, count * pixels, g.out_c, row_len, T(1), col.data(), row_len, w, g.out_c, T(1), yc,
            g.out_c);
  });
}

template <class T>
void gemm_conv_backward(const Conv2dGeometry& g, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  const int64_t row_len = g.kernel_h * g.kernel_w * g.in_c;
  const int64_t pixels = g.out_h * g.out_w;
  const int64_t chunk = samples_per_chunk(g, kColumnBufferElements);
  std::vector<T> col(static_cast<size_t>(chunk * pixels * row_len));
  for_each_sample_chunk(g, chunk, [&](int64_t first, int64_t count) {
    const int64_t rows = count * pixels;
    const T* gyc = gy + first * pixels * g.out_c;
    if (gw) {
      im2col(g, x, first, count, col.data());
      gemm<T>(true, false, row_len, g.out_c, rows, T(1), col.data(), row_len, gyc, g.out_c, T(1), gw, g.out_c);
    }
    if (gb)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < g.out_c; ++o) gb[o] += gyc[r * g.out_c + o];
    if (gx) {
      gemm<T>(false, true, rows, row_len, g.out_c, T(1), gyc, g.out_c, w, g.out_c, T(0), col.data(), row_len);
      col2im_add(g, col.data(), first, count, gx);
    }
  });
}
}  // namespace

template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y) {
  if (use_direct(g))
    direct_conv(direct::geometry_of(g), g.batch, x, w, b, false, y);
  else
    gemm_conv_forward(g, x, w, b, y);
}

template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  if (!use_direct(g)) return gemm_conv_backward(g, x, w, gy, gx, gw, gb);
  if (gw || gb) direct_weight_gradient(direct::geometry_of(g), g.batch, x, gy, gw, gb);
  if (gx) direct_data_gradient(g, w, gy, gx);
}

TIMBRE_INSTANTIATE_KERNEL(conv2d_forward)
TIMBRE_INSTANTIATE_KERNEL(conv2d_backward)

}  // namespace timbre::kernels::cpu
