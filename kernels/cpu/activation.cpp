// LeakyReLU (ReLU at negative_slope 0), sigmoid, tanh and softmax on the CPU. Sigmoid
// and tanh use Eigen's vectorised array functions over OpenMP chunks.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "kernels/cpu/parallel.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

namespace {
template <class T>
using ConstArray = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using Array = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;

// Runs fn(begin, count) over [0, n) in chunks, in parallel when n is large.
template <class Fn>
void for_chunks(int64_t n, Fn fn) {
  constexpr int64_t chunk = 4096;
  const int64_t chunks = (n + chunk - 1) / chunk;
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t c = 0; c < chunks; ++c) fn(c * chunk, std::min(chunk, n - c * chunk));
}
}  // namespace

template <class T>
void leaky_relu_forward(int64_t n, T negative_slope, const T* x, T* y) {
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : negative_slope * x[i];
}

template <class T>
void leaky_relu_backward(int64_t n, T negative_slope, const T* x, const T* gy, T* gx) {
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) gx[i] += x[i] > T(0) ? gy[i] : negative_slope * gy[i];
}

template <class T>
void sigmoid_forward(int64_t n, const T* x, T* y) {
  for_chunks(n, [&](int64_t b, int64_t m) { Array<T>(y + b, m) = ConstArray<T>(x + b, m).logistic(); });
}

template <class T>
void sigmoid_backward(int64_t n, const T* y, const T* gy, T* gx) {
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) gx[i] += gy[i] * y[i] * (T(1) - y[i]);
}

template <class T>
void tanh_forward(int64_t n, const T* x, T* y) {
  for_chunks(n, [&](int64_t b, int64_t m) { Array<T>(y + b, m) = ConstArray<T>(x + b, m).tanh(); });
}

template <class T>
void tanh_backward(int64_t n, const T* y, const T* gy, T* gx) {
  TIMBRE_PARALLEL_FOR_IF(n >= kElementwiseGrain)
  for (int64_t i = 0; i < n; ++i) gx[i] += gy[i] * (T(1) - y[i] * y[i]);
}

template <class T>
void softmax_forward(int64_t rows, int64_t cols, const T* x, T* y) {
  TIMBRE_PARALLEL_FOR_IF(rows * cols >= kElementwiseGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    const T peak = *std::max_element(xr, xr + cols);
    T sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += (yr[c] = std::exp(xr[c] - peak));
    for (int64_t c = 0; c < cols; ++c) yr[c] /= sum;
  }
}

template <class T>
void softmax_backward(int64_t rows, int64_t cols, const T* y, const T* gy, T* gx) {
  TIMBRE_PARALLEL_FOR_IF(rows * cols >= kElementwiseGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y + r * cols;
    const T* gr = gy + r * cols;
    T dot = 0;
    for (int64_t c = 0; c < cols; ++c) dot += yr[c] * gr[c];
    for (int64_t c = 0; c < cols; ++c) gx[r * cols + c] += yr[c] * (gr[c] - dot);
  }
}

TIMBRE_INSTANTIATE_KERNEL(leaky_relu_forward)
TIMBRE_INSTANTIATE_KERNEL(leaky_relu_backward)
TIMBRE_INSTANTIATE_KERNEL(sigmoid_forward)
TIMBRE_INSTANTIATE_KERNEL(sigmoid_backward)
TIMBRE_INSTANTIATE_KERNEL(tanh_forward)
TIMBRE_INSTANTIATE_KERNEL(tanh_backward)
TIMBRE_INSTANTIATE_KERNEL(softmax_forward)
TIMBRE_INSTANTIATE_KERNEL(softmax_backward)

}  // namespace timbre::kernels::cpu
