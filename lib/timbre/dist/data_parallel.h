// DataParallel: synchronous data-parallel training of any model, one replica
// per rank (as PyTorch's DistributedDataParallel). At construction every rank
// checks that all ranks built the same model and optimizer (a signature of
// their variables' names, shapes and dtypes; a mismatch is a timbre::Error on
// every rank, naming the ranks that differ), then takes rank 0's variables:
// parameters and buffers alike (all of Module::variables(), BatchNorm's moving
// statistics included) and the optimizer's state. After each backward pass,
// synchronize_gradients() averages the gradients over the ranks, in buckets of
// a few MB over the optimizer's contiguous gradient arena, so every rank takes
// the same optimizer step and the replicas stay identical.
//
// Each rank feeds its own shard of every global batch (dist::ShardSampler).
// BatchNorm normalises with each rank's local batch statistics (as DDP does
// by default); its moving statistics then differ slightly between ranks, so
// save or evaluate the model of rank 0 (or call broadcast_state() first).
// dist::SyncBatchNormalization (sync_batchnorm.h) uses the global batch's instead.
//
//   auto comm = dist::init();
//   dist::DataParallel dp(model, optimizer, *comm);
//   dist::ShardSampler sampler(train.size(), global_batch, *comm, seed);
//   for each epoch e, for each local batch of sampler.indices(e):
//     optimizer.zero_grad(); loss(model(x), y).backward();
//     dp.synchronize_gradients(); optimizer.step();
#pragma once

#include <cstddef>
#include <cstdint>

#include "timbre/dist/communicator.h"
#include "timbre/nn/module.h"
#include "timbre/optim/optimizer.h"

namespace timbre::dist {

struct DataParallelOptions {
  // Gradients are all-reduced this many bytes at a time (PyTorch DDP's default bucket is 25 MB; the seed
  // models' gradients are at most 1 MB, so they go in one).
  size_t bucket_bytes = size_t{4} << 20;
};

class DataParallel {
 public:
  // `model` built and `optimizer` made over its trainable parameters, on every rank. Collective.
  DataParallel(nn::Module& model, optim::Optimizer& optimizer, Communicator& comm, DataParallelOptions options = {});

  // Every rank takes rank 0's model variables, optimizer state and iteration
  // count. Called by the constructor; call it again after rank 0 alone changed
  // them (e.g. loaded a checkpoint). Collective.
  void broadcast_state();
  // Averages the gradients over the ranks: call between backward() and optimizer.step(). Collective.
  void synchronize_gradients();
  // synchronize_gradients(), then optimizer.step().
  void step();

  Communicator& communicator() const { return comm_; }
  int64_t bucket_count() const;
  // Wall time of the last synchronize_gradients(), in seconds.
  double last_synchronize_seconds() const { return last_synchronize_seconds_; }

 private:
  void check_same_model_everywhere();

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  Communicator& comm_;
  int64_t bucket_elements_;
  double last_synchronize_seconds_ = 0;
};

}  // namespace timbre::dist
