// Fused softmax cross-entropy on the GPU: one warp per row, reductions by warp
// shuffles (four rows per 128-thread block).
#include <cmath>

#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
__global__ void softmax_cross_entropy_forward_kernel(int64_t rows, int64_t classes, const T* logits,
                                                     const T* targets, T* probs, T* loss) {
  const int64_t r = warp_row();
  if (r >= rows) return;
  const int lane = warp_lane();
  const T* z = logits + r * classes;
  const T* t = targets + r * classes;
  T* p = probs + r * classes;
  T peak = z[0];
  for (int64_t c = lane; c < classes; c += kWarp) peak = z[c] > peak ? z[c] : peak;
  peak = warp_max(peak);
  T sum = 0;
  for (int64_t c = lane; c < classes; c += kWarp) sum += (p[c] = exp(z[c] - peak));
  sum = warp_sum(sum);
  const T log_sum = log(sum);
  T l = 0;
  for (int64_t c = lane; c < classes; c += kWarp) {
    p[c] /= sum;
    if (t[c] != T(0)) l -= t[c] * (z[c] - peak - log_sum);  // log-softmax, exact even where p underflows
  }
  l = warp_sum(l);
  if (lane == 0) loss[r] = l;
}

template <class T>
__global__ void softmax_cross_entropy_backward_kernel(int64_t rows, int64_t classes, const T* probs,
                                                      const T* targets, T scale, T* glogits) {
  const int64_t r = warp_row();
  if (r >= rows) return;
  const int lane = warp_lane();
  T mass = 0;  // sum of the targets: 1 for one-hot rows
  for (int64_t c = lane; c < classes; c += kWarp) mass += targets[r * classes + c];
  mass = warp_sum(mass);
  for (int64_t c = lane; c < classes; c += kWarp) {
    const int64_t i = r * classes + c;
    glogits[i] += scale * (probs[i] * mass - targets[i]);
  }
}

}  // namespace

template <class T>
void softmax_cross_entropy_forward(int64_t rows, int64_t classes, const T* logits, const T* targets, T* probs,
                                   T* loss) {
  check(classes > 0, "softmax_cross_entropy_forward", "expected at least one class");
  launch("softmax_cross_entropy_forward", softmax_cross_entropy_forward_kernel<T>, warp_row_blocks(rows),
         kWarpRowsPerBlock * kWarp, 0, rows, classes, logits, targets, probs, loss);
}

template <class T>
void softmax_cross_entropy_backward(int64_t rows, int64_t classes, const T* probs, const T* targets, T scale,
                                    T* glogits) {
  launch("softmax_cross_entropy_backward", softmax_cross_entropy_backward_kernel<T>, warp_row_blocks(rows),
         kWarpRowsPerBlock * kWarp, 0, rows, classes, probs, targets, scale, glogits);
}

TIMBRE_INSTANTIATE_KERNEL(softmax_cross_entropy_forward)
TIMBRE_INSTANTIATE_KERNEL(softmax_cross_entropy_backward)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
