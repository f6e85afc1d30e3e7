// Conv2D on the GPU, channels-last, as on the CPU: im2col into a device
// workspace, then our GEMM, over chunks of the batch so the workspace stays
// bounded. The column layout is one row per output pixel with (kh, kw, ci)
// along the row, i.e. Keras' kernel (KH, KW, Cin, Cout) viewed as a matrix.
// The adjoint of im2col gathers (one thread per input element), so backward
// needs no atomics and is deterministic.
#include "kernels/cuda/columns.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
constexpr int64_t kColumnBufferElements = int64_t{1} << 22;  // samples_per_chunk (kernels/geometry.h)

// col (count*OH*OW, KH*KW*Cin) from samples [first, first + count).
template <class T>
__global__ void im2col_kernel(Conv2dGeometry g, const T* x, int64_t first, int64_t count, T* col) {
  const int64_t row_len = g.kernel_h * g.kernel_w * g.in_c;
  TIMBRE_GRID_STRIDE_LOOP(e, count * g.out_h * g.out_w * row_len) {
    const int64_t row = e / row_len, q = e % row_len;
    const int64_t ci = q % g.in_c, kw = q / g.in_c % g.kernel_w, kh = q / (g.in_c * g.kernel_w);
    const int64_t ow = row % g.out_w, oh = row / g.out_w % g.out_h, n = first + row / (g.out_w * g.out_h);
    const int64_t ih = oh * g.stride_h + kh - g.pad_top, iw = ow * g.stride_w + kw - g.pad_left;
    col[e] = ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w ? T(0)
                                                              : x[((n * g.in_h + ih) * g.in_w + iw) * g.in_c + ci];
  }
}

// gx of samples [first, first + count) += the entries of col that im2col copied from each element.
template <class T>
__global__ void col2im_add_kernel(Conv2dGeometry g, const T* col, int64_t first, int64_t count, T* gx) {
  const int64_t row_len = g.kernel_h * g.kernel_w * g.in_c;
  TIMBRE_GRID_STRIDE_LOOP(e, count * g.in_h * g.in_w * g.in_c) {
    const int64_t ci = e % g.in_c, iw = e / g.in_c % g.in_w, ih = e / (g.in_c * g.in_w) % g.in_h;
    const int64_t s = e / (g.in_c * g.in_w * g.in_h);
    T sum = 0;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const int64_t oh_stride = ih + g.pad_top - kh;  // = oh * stride_h
      if (oh_stride < 0 || oh_stride % g.stride_h != 0 || oh_stride / g.stride_h >= g.out_h) continue;
      const int64_t oh = oh_stride / g.stride_h;
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const int64_t ow_stride = iw + g.pad_left - kw;
        if (ow_stride < 0 || ow_stride % g.stride_w != 0 || ow_stride / g.stride_w >= g.out_w) continue;
        const int64_t ow = ow_stride / g.stride_w;
        sum += col[((s * g.out_h + oh) * g.out_w + ow) * row_len + (kh * g.kernel_w + kw) * g.in_c + ci];
      }
    }
    gx[first * g.in_h * g.in_w * g.in_c + e] += sum;
  }
}

template <class T>
void im2col(const Conv2dGeometry& g, const T* x, int64_t first, int64_t count, T* col) {
  const int64_t total = count * g.out_h * g.out_w * g.kernel_h * g.kernel_w * g.in_c;
  launch("conv2d im2col", im2col_kernel<T>, blocks_for(total), kThreads, 0, g, x, first, count, col);
}
}  // namespace

template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t row_len = g.kernel_h * g.kernel_w * g.in_c;
  const int64_t pixels = g.out_h * g.out_w;
  const int64_t chunk = samples_per_chunk(g, kColumnBufferElements);
  Workspace<T> col(chunk * pixels * row_len);
  for_each_sample_chunk(g, chunk, [&](int64_t first, int64_t count) {
    im2col(g, x, first, count, col.data());
    T* yc = y + first * pixels * g.out_c;
    broadcast_rows(count * pixels, g.out_c, b, yc);
    gemm<T>(false, false, count * pixels, g.out_c, row_len, T(1), col.data(), row_len, w, g.out_c, T(1), yc,
            g.out_c);
  });
}

template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  const int64_t row_len = g.kernel_h * g.kernel_w * g.in_c;
  const int64_t pixels = g.out_h * g.out_w;
  if (gb) add_column_sums(g.batch * pixels, g.out_c, gy, gb);
  if (!gw && !gx) return;
  const int64_t chunk = samples_per_chunk(g, kColumnBufferElements);
  Workspace<T> col(chunk * pixels * row_len);
  for_each_sample_chunk(g, chunk, [&](int64_t first, int64_t count) {
    const int64_t rows = count * pixels;
    const T* gyc = gy + first * pixels * g.out_c;
    if (gw) {
      im2col(g, x, first, count, col.data());
      gemm<T>(true, false, row_len, g.out_c, rows, T(1), col.data(), row_len, gyc, g.out_c, T(1), gw, g.out_c);
    }
    if (gx) {
      gemm<T>(false, true, rows, row_len, g.out_c, T(1), gyc, g.out_c, w, g.out_c, T(0), col.data(), row_len);
      launch("conv2d col2im", col2im_add_kernel<T>, blocks_for(count * g.in_h * g.in_w * g.in_c), kThreads, 0, g,
             static_cast<const T*>(col.data()), first, count, gx);
    }
  });
}

TIMBRE_INSTANTIATE_KERNEL(conv2d_forward)
TIMBRE_INSTANTIATE_KERNEL(conv2d_backward)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
