// BatchLoader: gathers mini-batches of a PatchDataset in a given order (the
// epoch's shuffle) into contiguous tensors on a background thread, one batch
// ahead of the consumer (double-buffered), so that copying patches overlaps
// the training step.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "timbre/core/random.h"
#include "timbre/data/dataset.h"

namespace timbre::data {

struct Augmentation;

struct Batch {
  Tensor inputs;                  // (B, H, W, 1) float32, CPU
  Tensor targets;                 // (B, C) one-hot float32, CPU
  std::vector<int32_t> labels;    // class index per row
  std::vector<int64_t> indices;   // the rows' indices into the dataset
};

class BatchLoader {
 public:
  // Batches of `batch_size` rows of `dataset` (which must outlive the loader)
  // taken in `order`; the last batch holds the remainder. The worker starts at once.
  // With `augmentation` (which must outlive the loader too), each batch is augmented
  // with a generator seeded from (augment_seed, batch number): the same draws
  // whatever the threads' timing.
  BatchLoader(const PatchDataset& dataset, std::vector<int64_t> order, int64_t batch_size,
              const Augmentation* augmentation = nullptr, uint64_t augment_seed = 0);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch, or nullopt after the last. Rethrows an error of the worker.
  std::optional<Batch> next();
  int64_t batch_count() const { return batch_count_; }

 private:
  void work();
  Batch gather(int64_t batch) const;

  static constexpr size_t depth_ = 2;  // batches ready ahead of the consumer
  const PatchDataset& dataset_;
  std::vector<int64_t> order_;
  int64_t batch_size_, batch_count_;
  const Augmentation* augmentation_;
  uint64_t augment_seed_;
  int64_t delivered_ = 0;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  std::thread worker_;
};

// `n` indices 0..n-1 in an order drawn from `g` (Fisher-Yates with g's 64-bit
// draws, so the order is the same with every standard library).
std::vector<int64_t> shuffled_indices(int64_t n, Generator& g);

}  // namespace timbre::data
