// Fused softmax cross-entropy on logits.
#include <algorithm>
#include <cmath>

#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

template <class T>
void softmax_cross_entropy_forward(int64_t rows, int64_t classes, const T* logits, const T* targets, T* probs,
                                   T* loss) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* z = logits + r * classes;
    const T* t = targets + r * classes;
    T* p = probs + r * classes;
    const T peak = *std::max_element(z, z + classes);
    T sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += (p[c] = std::exp(z[c] - peak));
    const T log_sum = std::log(sum);
    T l = 0;
    for (int64_t c = 0; c < classes; ++c) {
      p[c] /= sum;
      if (t[c] != T(0)) l -= t[c] * (z[c] - peak - log_sum);  // log-softmax, exact even where p underflows
    }
    loss[r] = l;
  }
}

template <class T>
void softmax_cross_entropy_backward(int64_t rows, int64_t classes, const T* probs, const T* targets,
                                    T scale, T* glogits) {
  for (int64_t r = 0; r < rows; ++r) {
    // d loss / d z_c = p_c * sum(t) - t_c; sum(t) is 1 for one-hot rows.
    T mass = 0;
    for (int64_t c = 0; c < classes; ++c) mass += targets[r * classes + c];
    for (int64_t c = 0; c < classes; ++c) {
      const int64_t i = r * classes + c;
      glogits[i] += scale * (probs[i] * mass - targets[i]);
    }
  }
}

TIMBRE_INSTANTIATE_KERNEL(softmax_cross_entropy_forward)
TIMBRE_INSTANTIATE_KERNEL(softmax_cross_entropy_backward)

}  // namespace timbre::kernels::cpu
