#include "timbre/dist/sync_batchnorm.h"

namespace timbre::dist {

Tensor sync_batchnorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                      const Tensor& moving_variance, bool training, Communicator& comm,
                      const ops::BatchNormOptions& o) {
  if (!training) return ops::batchnorm(x, gamma, beta, moving_mean, moving_variance, false, o);
  Communicator* all = &comm;  // the backward's closure keeps this pointer: comm must outlive the graph
  return ops::sync_batchnorm(
      x, gamma, beta, moving_mean, moving_variance, [all](const Tensor& t) { all->all_reduce(t, ReduceOp::sum); }, o);
}

}  // namespace timbre::dist
