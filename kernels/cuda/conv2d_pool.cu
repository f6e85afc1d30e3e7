// Conv2D (stride 1) + LeakyReLU + max pooling (stride = pool) fused on the GPU,
// channels-last. Forward: one thread per pooled output element computes the
// convolution at each position of its window directly (no im2col: each conv
// output is used once, and those outside every window are never computed),
// keeps the first maximum (row-major, strict >, as maxpool2d.cu) and applies
// the activation to it alone (it is monotone). Backward: the conv-output
// gradient is nonzero only at each window's argmax, so gw and gb are column
// sums over the pooled elements (columns.cuh: in double, fixed order), and gx
// gathers (one thread per input element checks each tap's window argmax), so
// no atomics are needed and every result is deterministic.
#include "kernels/cuda/columns.cuh"
#include "kernels/cuda/pool_window.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
__global__ void conv2d_pool_forward_kernel(ConvPoolGeometry g, T negative_slope, const T* x, const T* w, const T* b, T* y,
                                           T* argmax) {
  const Conv2dGeometry& c = g.conv;
  TIMBRE_GRID_STRIDE_LOOP(e, c.batch * g.out_h * g.out_w * c.out_c) {
    const auto [n, py, px, co] = pixel_of(e, g.out_h, g.out_w, c.out_c);
    FirstMaximum<T> best;
    for (int64_t p = 0; p < g.pool_h * g.pool_w; ++p) {
      const int64_t oh = py * g.pool_h + p / g.pool_w, ow = px * g.pool_w + p % g.pool_w;
      // The CPU's order (ci, kh, kw, then the bias), so near-ties mostly resolve alike.
      T z = 0;
      for (int64_t ci = 0; ci < c.in_c; ++ci)
        for (int64_t kh = 0; kh < c.kernel_h; ++kh) {
          const int64_t ih = oh + kh - c.pad_top;
          if (ih < 0 || ih >= c.in_h) continue;
          for (int64_t kw = 0; kw < c.kernel_w; ++kw) {
            const int64_t iw = ow + kw - c.pad_left;
            if (iw < 0 || iw >= c.in_w) continue;
            z += x[((n * c.in_h + ih) * c.in_w + iw) * c.in_c + ci] *
                 w[((kh * c.kernel_w + kw) * c.in_c + ci) * c.out_c + co];
          }
        }
      if (b) z += b[co];
      best.offer(z, p);
    }
    y[e] = best.value > 0 ? best.value : negative_slope * best.value;
    if (argmax) argmax[e] = static_cast<T>(best.position);
  }
}

// Column sums over rows r = pooled elements (n, py, px) for the bias gradient: column co.
template <class T>
struct BiasTerm {
  T negative_slope;
  int64_t out_c;
  const T* y;
  const T* gy;
  __device__ void operator()(int64_t r, int64_t co, double* v) const {
    v[0] = pooled_gradient(negative_slope, y, gy, r * out_c + co);
  }
};

// ... and for the kernel gradient: column ((kh*KW + kw)*Cin + ci)*Cout + co, the
// gradient at the window's argmax times the input element that tap reads there.
template <class T>
struct KernelTerm {
  ConvPoolGeometry g;
  T negative_slope;
  const T* x;
  const T* y;
  const T* argmax;
  const T* gy;
  __device__ void operator()(int64_t r, int64_t col, double* v) const {
    const Conv2dGeometry& c = g.conv;
    const int64_t co = col % c.out_c, ci = col / c.out_c % c.in_c, kw = col / (c.out_c * c.in_c) % c.kernel_w;
    const int64_t kh = col / (c.out_c * c.in_c * c.kernel_w);
    const int64_t i = r * c.out_c + co, p = static_cast<int64_t>(argmax[i]);
    const Pixel o = pixel_of(i, g.out_h, g.out_w, c.out_c);
    const int64_t ih = o.h * g.pool_h + p / g.pool_w + kh - c.pad_top;
    const int64_t iw = o.w * g.pool_w + p % g.pool_w + kw - c.pad_left;
    if (ih < 0 || ih >= c.in_h || iw < 0 || iw >= c.in_w) {
      v[0] = 0;  // a tap in the padding
      return;
    }
    v[0] = static_cast<double>(pooled_gradient(negative_slope, y, gy, i)) * x[((o.n * c.in_h + ih) * c.in_w + iw) * c.in_c + ci];
  }
};

template <class T>
__global__ void add_sums_kernel(int64_t count, const double* sums, T* out) {
  TIMBRE_GRID_STRIDE_LOOP(i, count) out[i] += static_cast<T>(sums[i]);
}

// gx (n, ih, iw, ci) += the gradient at every conv position (oh, ow) that reads it
// through tap (kh, kw) and is its window's argmax, times w[kh, kw, ci, co].
template <class T>
__global__ void conv2d_pool_input_gradient_kernel(ConvPoolGeometry g, T negative_slope, const T* w, const T* y,
                                                  const T* argmax, const T* gy, T* gx) {
  const Conv2dGeometry& c = g.conv;
  TIMBRE_GRID_STRIDE_LOOP(e, c.batch * c.in_h * c.in_w * c.in_c) {
    const auto [n, ih, iw, ci] = pixel_of(e, c.in_h, c.in_w, c.in_c);
    T sum = 0;
    for (int64_t kh = 0; kh < c.kernel_h; ++kh) {
      const int64_t oh = ih + c.pad_top - kh;
      if (oh < 0 || oh >= g.out_h * g.pool_h) continue;  // outside every window: no gradient
      for (int64_t kw = 0; kw < c.kernel_w; ++kw) {
        const int64_t ow = iw + c.pad_left - kw;
        if (ow < 0 || ow >= g.out_w * g.pool_w) continue;
        const int64_t position = (oh % g.pool_h) * g.pool_w + ow % g.pool_w;
        const int64_t pooled = ((n * g.out_h + oh / g.pool_h) * g.out_w + ow / g.pool_w) * c.out_c;
        const T* wp = w + ((kh * c.kernel_w + kw) * c.in_c + ci) * c.out_c;
        for (int64_t co = 0; co < c.out_c; ++co)
          if (static_cast<int64_t>(argmax[pooled + co]) == position)
            sum += pooled_gradient(negative_slope, y, gy, pooled + co) * wp[co];
      }
    }
    gx[e] += sum;
  }
}
}  // namespace

template <class T>
void conv2d_pool_forward(const ConvPoolGeometry& g, T negative_slope, const T* x, const T* w, const T* b, T* y, T* argmax) {
  launch("conv2d_pool_forward", conv2d_pool_forward_kernel<T>,
         blocks_for(g.conv.batch * g.out_h * g.out_w * g.conv.out_c), kThreads, 0, g, negative_slope, x, w, b, y, argmax);
}

template <class T>
void conv2d_pool_backward(const ConvPoolGeometry& g, T negative_slope, const T* x, const T* w, const T* y, const T* argmax,
                          const T* gy, T* gx, T* gw, T* gb) {
  const Conv2dGeometry& c = g.conv;
  const int64_t pooled = c.batch * g.out_h * g.out_w;
  if (gb) {
    Workspace<double> sums(c.out_c);
    column_sums<1>("conv2d_pool_backward bias", pooled, c.out_c, BiasTerm<T>{negative_slope, c.out_c, y, gy}, sums.data());
    launch("conv2d_pool_backward bias", add_sums_kernel<T>, blocks_for(c.out_c), kThreads, 0, c.out_c,
           static_cast<const double*>(sums.data()), gb);
  }
  if (gw) {
    const int64_t weights = c.kernel_h * c.kernel_w * c.in_c * c.out_c;
    Workspace<double> sums(weights);
    column_sums<1>("conv2d_pool_backward kernel", pooled, weights, KernelTerm<T>{g, negative_slope, x, y, argmax, gy},
                   sums.data());
    launch("conv2d_pool_backward kernel", add_sums_kernel<T>, blocks_for(weights), kThreads, 0, weights,
           static_cast<const double*>(sums.data()), gw);
  }
  if (gx)
    launch("conv2d_pool_backward input", conv2d_pool_input_gradient_kernel<T>,
           blocks_for(c.batch * c.in_h * c.in_w * c.in_c), kThreads, 0, g, negative_slope, w, y, argmax, gy, gx);
}

TIMBRE_INSTANTIATE_KERNEL(conv2d_pool_forward)
TIMBRE_INSTANTIATE_KERNEL(conv2d_pool_backward)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
