// Conv2D, channels-last, as im2col + GEMM over chunks of the batch (so the
// column buffer stays cache- and memory-friendly for any kernel size).
// Column layout: one row per output pixel, (kh, kw, ci) along the row, which is
// exactly the order of Keras' kernel (KH, KW, Cin, Cout) viewed as a matrix.
#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

namespace {
constexpr int64_t kColumnBufferElements = 1 << 21;  // about 8 MB of float per chunk

int64_t samples_per_chunk(const Conv2dGeometry& g) {
  const int64_t per_sample = g.out_h * g.out_w * g.kernel_h * g.kernel_w * g.in_c;
  return std::clamp<int64_t>(kColumnBufferElements / std::max<int64_t>(per_sample, 1), 1, g.batch);
}

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
}  // namespace

template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t row_len = g.kernel_h * g.kernel_w * g.in_c;
  const int64_t pixels = g.out_h * g.out_w;
  const int64_t chunk = samples_per_chunk(g);
  std::vector<T> col(static_cast<size_t>(chunk * pixels * row_len));
  for (int64_t first = 0; first < g.batch; first += chunk) {
    const int64_t count = std::min(chunk, g.batch - first);
    im2col(g, x, first, count, col.data());
    T* yc = y + first * pixels * g.out_c;
    for (int64_t r = 0; r < count * pixels; ++r)
      for (int64_t o = 0; o < g.out_c; ++o) yc[r * g.out_c + o] = b ? b[o] : T(0);
    gemm<T>(false, false, count * pixels, g.out_c, row_len, T(1), col.data(), row_len, w, g.out_c, T(1), yc,
            g.out_c);
  }
}

template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  const int64_t row_len = g.kernel_h * g.kernel_w * g.in_c;
  const int64_t pixels = g.out_h * g.out_w;
  const int64_t chunk = samples_per_chunk(g);
  std::vector<T> col(static_cast<size_t>(chunk * pixels * row_len));
  for (int64_t first = 0; first < g.batch; first += chunk) {
    const int64_t count = std::min(chunk, g.batch - first);
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
  }
}

TIMBRE_INSTANTIATE_KERNEL(conv2d_forward)
TIMBRE_INSTANTIATE_KERNEL(conv2d_backward)

}  // namespace timbre::kernels::cpu
