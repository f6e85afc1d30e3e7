// Synchronised BatchNorm: in training, the batch statistics (mean, biased
// variance) are those of the global batch, all ranks' rows together, and the
// backward pass all-reduces its two channel sums likewise, so a data-parallel
// model with BatchNorm trains as one process on the global batch would. Three
// small all-reduces forward (the row count, then 2C values twice: the second
// pass centred on the first's mean) and one (2C) backward, per layer and step;
// the kernels are ops::sync_batchnorm's, on the CPU or CUDA. Inference uses
// the moving statistics, as BatchNormalization. The default in timbre (as in
// PyTorch DDP) is the plain, local BatchNorm.
#pragma once

#include "timbre/dist/communicator.h"
#include "timbre/nn/layers.h"
#include "timbre/ops/batchnorm.h"

namespace timbre::dist {

// ops::batchnorm with the statistics of the batch across all ranks of `comm`
// when `training` (collective then: every rank calls it, forward and backward).
// The gradients of gamma and beta are this rank's share (DataParallel averages them).
Tensor sync_batchnorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                      const Tensor& moving_variance, bool training, Communicator& comm,
                      const ops::BatchNormOptions& options = {});

// A BatchNormalization layer (same variables and names, so checkpoints are
// interchangeable) whose training statistics span the ranks of `comm`, which must outlive it.
class SyncBatchNormalization : public nn::BatchNormalization {
 public:
  explicit SyncBatchNormalization(Communicator& comm, ops::BatchNormOptions options = {})
      : nn::BatchNormalization(options), comm_(&comm), options_(options) {}

 protected:
  Tensor forward(const Tensor& x) override {
    return sync_batchnorm(x, gamma, beta, moving_mean, moving_variance, training(), *comm_, options_);
  }

 private:
  Communicator* comm_;
  ops::BatchNormOptions options_;
};

}  // namespace timbre::dist
