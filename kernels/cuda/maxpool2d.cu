// MaxPool2D on the GPU, channels-last. Forward: one thread per output element,
// which also saves the window position of its first maximum (row-major).
// Backward gathers: one thread per input element adds the gradient of every
// window whose saved maximum it is, so overlapping windows need no atomics and
// the sum order is fixed.
#include "kernels/cuda/pool_window.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
__global__ void maxpool2d_forward_kernel(Pool2dGeometry g, const T* x, T* y, T* argmax) {
  TIMBRE_GRID_STRIDE_LOOP(e, g.batch * g.out_h * g.out_w * g.channels) {
    const Pixel o = pixel_of(e, g.out_h, g.out_w, g.channels);
    const T* corner = x + ((o.n * g.in_h + o.h * g.stride_h) * g.in_w + o.w * g.stride_w) * g.channels + o.c;
    FirstMaximum<T> best;
    for (int64_t p = 0; p < g.pool_h * g.pool_w; ++p)
      best.offer(corner[window_offset(p, g.pool_w, g.in_w * g.channels, g.channels)], p);
    y[e] = best.value;
    if (argmax) argmax[e] = static_cast<T>(best.position);
  }
}

template <class T>
__global__ void maxpool2d_backward_kernel(Pool2dGeometry g, const T* argmax, const T* gy, T* gx) {
  TIMBRE_GRID_STRIDE_LOOP(e, g.batch * g.in_h * g.in_w * g.channels) {
    const auto [n, ih, iw, c] = pixel_of(e, g.in_h, g.in_w, g.channels);
    // Windows (oh, ow) that contain (ih, iw): oh*stride <= ih < oh*stride + pool.
    const int64_t oh_first = ih < g.pool_h ? 0 : (ih - g.pool_h) / g.stride_h + 1;
    const int64_t ow_first = iw < g.pool_w ? 0 : (iw - g.pool_w) / g.stride_w + 1;
    const int64_t oh_last = std::min(ih / g.stride_h, g.out_h - 1), ow_last = std::min(iw / g.stride_w, g.out_w - 1);
    T sum = 0;
    bool routed = false;
    for (int64_t oh = oh_first; oh <= oh_last; ++oh)
      for (int64_t ow = ow_first; ow <= ow_last; ++ow) {
        const int64_t out = ((n * g.out_h + oh) * g.out_w + ow) * g.channels + c;
        const int64_t position = (ih - oh * g.stride_h) * g.pool_w + (iw - ow * g.stride_w);
        if (static_cast<int64_t>(argmax[out]) == position) {
          sum += gy[out];
          routed = true;
        }
      }
    if (routed) gx[e] += sum;
  }
}
}  // namespace

template <class T>
void maxpool2d_forward(const Pool2dGeometry& g, const T* x, T* y, T* argmax) {
  launch("maxpool2d_forward", maxpool2d_forward_kernel<T>, blocks_for(g.batch * g.out_h * g.out_w * g.channels),
         kThreads, 0, g, x, y, argmax);
}

template <class T>
void maxpool2d_backward(const Pool2dGeometry& g, const T* argmax, const T* gy, T* gx) {
  launch("maxpool2d_backward", maxpool2d_backward_kernel<T>, blocks_for(g.batch * g.in_h * g.in_w * g.channels),
         kThreads, 0, g, argmax, gy, gx);
}

TIMBRE_INSTANTIATE_KERNEL(maxpool2d_forward)
TIMBRE_INSTANTIATE_KERNEL(maxpool2d_backward)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
