// MaxPool2D on the GPU, channels-last. Forward: one thread per output element.
// Backward gathers: one thread per input element adds the gradient of every
// window whose first maximum (row-major) it is, so overlapping windows need
// no atomics and the sum order is fixed.
#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
// Input index of the first maximum of window (n, oh, ow) in channel c; same comparisons as the CPU twin.
template <class T>
__device__ int64_t window_argmax(const Pool2dGeometry& g, const T* x, int64_t n, int64_t oh, int64_t ow, int64_t c) {
  int64_t best = -1;
  T best_value = T(0);
  for (int64_t ph = 0; ph < g.pool_h; ++ph)
    for (int64_t pw = 0; pw < g.pool_w; ++pw) {
      const int64_t i = ((n * g.in_h + oh * g.stride_h + ph) * g.in_w + ow * g.stride_w + pw) * g.channels + c;
      if (best < 0 || x[i] > best_value) {
        best = i;
        best_value = x[i];
      }
    }
  return best;
}

template <class T>
__global__ void maxpool2d_forward_kernel(Pool2dGeometry g, const T* x, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(e, g.batch * g.out_h * g.out_w * g.channels) {
    const int64_t c = e % g.channels, ow = e / g.channels % g.out_w, oh = e / (g.channels * g.out_w) % g.out_h;
    const int64_t n = e / (g.channels * g.out_w * g.out_h);
    T out = T(0);
    for (int64_t ph = 0; ph < g.pool_h; ++ph)
      for (int64_t pw = 0; pw < g.pool_w; ++pw) {
        const T in = x[((n * g.in_h + oh * g.stride_h + ph) * g.in_w + ow * g.stride_w + pw) * g.channels + c];
        out = ph == 0 && pw == 0 ? in : in > out ? in : out;
      }
    y[e] = out;
  }
}

template <class T>
__global__ void maxpool2d_backward_kernel(Pool2dGeometry g, const T* x, const T* gy, T* gx) {
  TIMBRE_GRID_STRIDE_LOOP(e, g.batch * g.in_h * g.in_w * g.channels) {
    const int64_t c = e % g.channels, iw = e / g.channels % g.in_w, ih = e / (g.channels * g.in_w) % g.in_h;
    const int64_t n = e / (g.channels * g.in_w * g.in_h);
    // Windows (oh, ow) that contain (ih, iw): oh*stride <= ih < oh*stride + pool.
    const int64_t oh_first = ih < g.pool_h ? 0 : (ih - g.pool_h) / g.stride_h + 1;
    const int64_t ow_first = iw < g.pool_w ? 0 : (iw - g.pool_w) / g.stride_w + 1;
    const int64_t oh_last = std::min(ih / g.stride_h, g.out_h - 1), ow_last = std::min(iw / g.stride_w, g.out_w - 1);
    T sum = 0;
    bool routed = false;
    for (int64_t oh = oh_first; oh <= oh_last; ++oh)
      for (int64_t ow = ow_first; ow <= ow_last; ++ow)
        if (window_argmax(g, x, n, oh, ow, c) == e) {
          sum += gy[((n * g.out_h + oh) * g.out_w + ow) * g.channels + c];
          routed = true;
        }
    if (routed) gx[e] += sum;
  }
}
}  // namespace

template <class T>
void maxpool2d_forward(const Pool2dGeometry& g, const T* x, T* y) {
  launch("maxpool2d_forward", maxpool2d_forward_kernel<T>, blocks_for(g.batch * g.out_h * g.out_w * g.channels),
         kThreads, 0, g, x, y);
}

template <class T>
void maxpool2d_backward(const Pool2dGeometry& g, const T* x, const T* gy, T* gx) {
  launch("maxpool2d_backward", maxpool2d_backward_kernel<T>, blocks_for(g.batch * g.in_h * g.in_w * g.channels),
         kThreads, 0, g, x, gy, gx);
}

TIMBRE_INSTANTIATE_KERNEL(maxpool2d_forward)
TIMBRE_INSTANTIATE_KERNEL(maxpool2d_backward)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
