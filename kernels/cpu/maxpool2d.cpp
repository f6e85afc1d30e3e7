// MaxPool2D, channels-last; backward routes each window's gradient to the
// first maximum (row-major), recomputed from x so nothing is saved.
#include "kernels/cpu/parallel.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

template <class T>
void maxpool2d_forward(const Pool2dGeometry& g, const T* x, T* y) {
  TIMBRE_PARALLEL_FOR_IF(g.batch * g.in_h * g.in_w * g.channels >= kElementwiseGrain)
  for (int64_t r = 0; r < g.batch * g.out_h; ++r) {
    const int64_t n = r / g.out_h, oh = r % g.out_h;
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      T* out = y + ((n * g.out_h + oh) * g.out_w + ow) * g.channels;
      for (int64_t ph = 0; ph < g.pool_h; ++ph)
        for (int64_t pw = 0; pw < g.pool_w; ++pw) {
          const T* in = x + ((n * g.in_h + oh * g.stride_h + ph) * g.in_w + ow * g.stride_w + pw) * g.channels;
          if (ph == 0 && pw == 0)
            for (int64_t c = 0; c < g.channels; ++c) out[c] = in[c];
          else
            for (int64_t c = 0; c < g.channels; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
        }
    }
  }
}

template <class T>
void maxpool2d_backward(const Pool2dGeometry& g, const T* x, const T* gy, T* gx) {
  // Parallel over samples: windows may overlap (stride < pool) only within a sample.
  TIMBRE_PARALLEL_FOR_IF(g.batch * g.in_h * g.in_w * g.channels >= kElementwiseGrain)
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t c = 0; c < g.channels; ++c) {
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
          gx[best] += gy[((n * g.out_h + oh) * g.out_w + ow) * g.channels + c];
        }
}

TIMBRE_INSTANTIATE_KERNEL(maxpool2d_forward)
TIMBRE_INSTANTIATE_KERNEL(maxpool2d_backward)

}  // namespace timbre::kernels::cpu
