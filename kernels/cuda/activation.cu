// LeakyReLU (ReLU at negative_slope 0), sigmoid, tanh: grid-stride elementwise kernels.
// Softmax: one warp per row, with the row's maximum and sums reduced by warp
// shuffles (four rows per 128-thread block).
#include <cmath>

#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
__global__ void leaky_relu_forward_kernel(int64_t n, T negative_slope, const T* x, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) y[i] = x[i] > T(0) ? x[i] : negative_slope * x[i];
}

template <class T>
__global__ void leaky_relu_backward_kernel(int64_t n, T negative_slope, const T* x, const T* gy, T* gx) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) gx[i] += x[i] > T(0) ? gy[i] : negative_slope * gy[i];
}

template <class T>
__global__ void sigmoid_forward_kernel(int64_t n, const T* x, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) y[i] = T(1) / (T(1) + exp(-x[i]));
}

template <class T>
__global__ void sigmoid_backward_kernel(int64_t n, const T* y, const T* gy, T* gx) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) gx[i] += gy[i] * y[i] * (T(1) - y[i]);
}

template <class T>
__global__ void tanh_forward_kernel(int64_t n, const T* x, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) y[i] = tanh(x[i]);
}

template <class T>
__global__ void tanh_backward_kernel(int64_t n, const T* y, const T* gy, T* gx) {
  TIMBRE_GRID_STRIDE_LOOP(i, n) gx[i] += gy[i] * (T(1) - y[i] * y[i]);
}

template <class T>
__global__ void softmax_forward_kernel(int64_t rows, int64_t cols, const T* x, T* y) {
  const int64_t r = warp_row();
  if (r >= rows) return;
  const int lane = warp_lane();
  const T* xr = x + r * cols;
  T* yr = y + r * cols;
  T peak = xr[0];
  for (int64_t c = lane; c < cols; c += kWarp) peak = xr[c] > peak ? xr[c] : peak;
  peak = warp_max(peak);
  T sum = 0;
  for (int64_t c = lane; c < cols; c += kWarp) sum += (yr[c] = exp(xr[c] - peak));
  sum = warp_sum(sum);
  for (int64_t c = lane; c < cols; c += kWarp) yr[c] /= sum;
}

template <class T>
__global__ void softmax_backward_kernel(int64_t rows, int64_t cols, const T* y, const T* gy, T* gx) {
  const int64_t r = warp_row();
  if (r >= rows) return;
  const int lane = warp_lane();
  const T* yr = y + r * cols;
  const T* gr = gy + r * cols;
  T dot = 0;
  for (int64_t c = lane; c < cols; c += kWarp) dot += yr[c] * gr[c];
  dot = warp_sum(dot);
  for (int64_t c = lane; c < cols; c += kWarp) gx[r * cols + c] += yr[c] * (gr[c] - dot);
}

}  // namespace

template <class T>
void leaky_relu_forward(int64_t n, T negative_slope, const T* x, T* y) {
  launch("leaky_relu_forward", leaky_relu_forward_kernel<T>, blocks_for(n), kThreads, 0, n, negative_slope, x, y);
}

template <class T>
void leaky_relu_backward(int64_t n, T negative_slope, const T* x, const T* gy, T* gx) {
  launch("leaky_relu_backward", leaky_relu_backward_kernel<T>, blocks_for(n), kThreads, 0, n, negative_slope, x, gy, gx);
}

template <class T>
void sigmoid_forward(int64_t n, const T* x, T* y) {
  launch("sigmoid_forward", sigmoid_forward_kernel<T>, blocks_for(n), kThreads, 0, n, x, y);
}

template <class T>
void sigmoid_backward(int64_t n, const T* y, const T* gy, T* gx) {
  launch("sigmoid_backward", sigmoid_backward_kernel<T>, blocks_for(n), kThreads, 0, n, y, gy, gx);
}

template <class T>
void tanh_forward(int64_t n, const T* x, T* y) {
  launch("tanh_forward", tanh_forward_kernel<T>, blocks_for(n), kThreads, 0, n, x, y);
}

template <class T>
void tanh_backward(int64_t n, const T* y, const T* gy, T* gx) {
  launch("tanh_backward", tanh_backward_kernel<T>, blocks_for(n), kThreads, 0, n, y, gy, gx);
}

template <class T>
void softmax_forward(int64_t rows, int64_t cols, const T* x, T* y) {
  if (cols == 0) return;
  launch("softmax_forward", softmax_forward_kernel<T>, warp_row_blocks(rows), kWarpRowsPerBlock * kWarp, 0, rows,
         cols, x, y);
}

template <class T>
void softmax_backward(int64_t rows, int64_t cols, const T* y, const T* gy, T* gx) {
  launch("softmax_backward", softmax_backward_kernel<T>, warp_row_blocks(rows), kWarpRowsPerBlock * kWarp, 0, rows,
         cols, y, gy, gx);
}

TIMBRE_INSTANTIATE_KERNEL(leaky_relu_forward)
TIMBRE_INSTANTIATE_KERNEL(leaky_relu_backward)
TIMBRE_INSTANTIATE_KERNEL(sigmoid_forward)
TIMBRE_INSTANTIATE_KERNEL(sigmoid_backward)
TIMBRE_INSTANTIATE_KERNEL(tanh_forward)
TIMBRE_INSTANTIATE_KERNEL(tanh_backward)
TIMBRE_INSTANTIATE_KERNEL(softmax_forward)
TIMBRE_INSTANTIATE_KERNEL(softmax_backward)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
