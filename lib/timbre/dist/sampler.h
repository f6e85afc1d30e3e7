// ShardSampler: which samples each rank trains on, with PyTorch's
// DistributedSampler semantics. Every epoch all ranks draw the same
// permutation of the data set (from a common seed and the epoch number), make
// its length a multiple of the world size (pad by repeating its first samples,
// or drop the last ones), and rank r takes positions r, r + W, r + 2W, ... So
// each epoch every sample is seen exactly once (padding: a few twice; drop: a
// few not at all), the shards change between epochs, and all ranks take the
// same number of steps.
//
// The global batch (what a single process would use) is split evenly: each
// rank takes global_batch / world_size samples per step, and the k-th local
// batches of all ranks together hold the same samples as the k-th batch of the
// permutation taken global_batch at a time, so averaging the ranks' gradients
// gives the single-process step.
#pragma once

#include <cstdint>
#include <vector>

#include "timbre/dist/communicator.h"

namespace timbre::dist {

enum class Remainder {
  pad,   // repeat the permutation's first samples up to a multiple of the world size (PyTorch's default)
  drop,  // leave the permutation's last (size mod world size) samples out this epoch
};

class ShardSampler {
 public:
  // Throws timbre::Error when the global batch does not divide by the world
  // size, or the data set is empty (or, with drop, smaller than the world).
  ShardSampler(int64_t dataset_size, int64_t global_batch, int rank, int world_size, uint64_t seed,
               Remainder remainder = Remainder::pad);
  ShardSampler(int64_t dataset_size, int64_t global_batch, const Communicator& comm, uint64_t seed,
               Remainder remainder = Remainder::pad);

  int64_t local_batch() const { return global_batch_ / world_size_; }  // samples per rank per step
  int64_t shard_size() const { return shard_size_; }                     // samples per rank per epoch
  int64_t steps_per_epoch() const { return (shard_size_ + local_batch() - 1) / local_batch(); }

  // The permutation all ranks share in `epoch` (any integer; a fresh one each epoch).
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // This rank's samples of `epoch`, in training order: shard(epoch_order(epoch)).
  std::vector<int64_t> indices(int64_t epoch) const;
  // This rank's part of an order of the whole data set that every rank holds
  // alike (e.g. a trainer's own seeded shuffle), padded or cut as configured.
  std::vector<int64_t> shard(const std::vector<int64_t>& order) const;

 private:
  int64_t dataset_size_, global_batch_;
  int rank_, world_size_;
  uint64_t seed_;
  Remainder remainder_;
  int64_t shard_size_;
};

}  // namespace timbre::dist
