#include "timbre/data/batcher.h"

#include <cstring>

#include "timbre/core/random.h"
#include "timbre/data/augment.h"

namespace timbre::data {

BatchLoader::BatchLoader(const PatchDataset& dataset, std::vector<int64_t> order, int64_t batch_size,
                         const Augmentation* augmentation, uint64_t augment_seed)
    : dataset_(dataset),
      order_(std::move(order)),
      batch_size_(batch_size),
      augmentation_(augmentation),
      augment_seed_(augment_seed) {
  check(batch_size > 0, "BatchLoader", "batch size must be positive, got ", batch_size);
  check(dataset.patches.defined() && dataset.patches.dtype() == DType::f32 && dataset.patches.device().is_cpu(),
        "BatchLoader", "expected float32 patches in host memory");
  check(dataset.num_classes() > 0, "BatchLoader", "the dataset names no classes");
  for (int64_t i : order_)
    check(i >= 0 && i < dataset.size(), "BatchLoader", "index ", i, " outside the dataset's ", dataset.size(), " rows");
  batch_count_ = (static_cast<int64_t>(order_.size()) + batch_size - 1) / batch_size;
  worker_ = std::thread([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

Batch BatchLoader::gather(int64_t batch) const {
  const int64_t begin = batch * batch_size_;
  const int64_t rows = std::min<int64_t>(batch_size_, static_cast<int64_t>(order_.size()) - begin);
  const Shape sample = dataset_.sample_shape();
  const int64_t per = sample.numel(), classes = dataset_.num_classes();
  Batch b;
  b.inputs = Tensor::empty(sample.prepend(rows));
  b.targets = Tensor::zeros({rows, classes});
  const float* src = dataset_.patches.data<float>();
  float* dst = b.inputs.data<float>();
  float* targets = b.targets.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = order_[static_cast<size_t>(begin + r)];
    std::memcpy(dst + r * per, src + i * per, sizeof(float) * static_cast<size_t>(per));
    const int32_t label = dataset_.labels[static_cast<size_t>(i)];
    targets[r * classes + label] = 1.0f;
    b.labels.push_back(label);
    b.indices.push_back(i);
  }
  if (augmentation_) {
    Generator rng(augment_seed_ ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(batch + 1)));
    augment_batch(b, dataset_, *augmentation_, rng);
  }
  return b;
}

void BatchLoader::work() {
  try {
    for (int64_t batch = 0; batch < batch_count_; ++batch) {
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stop_ || ready_.size() < depth_; });
        if (stop_) return;
      }
      Batch b = gather(batch);
      {
        std::lock_guard lock(mutex_);
        ready_.push_back(std::move(b));
      }
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    error_ = std::current_exception();
    changed_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  if (delivered_ == batch_count_) return std::nullopt;
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !ready_.empty() || error_; });
  if (ready_.empty()) std::rethrow_exception(error_);
  Batch b = std::move(ready_.front());
  ready_.pop_front();
  ++delivered_;
  lock.unlock();
  changed_.notify_all();
  return b;
}

std::vector<int64_t> shuffled_indices(int64_t n, Generator& g) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    // Rejection sampling keeps the draw uniform in [0, i].
    const uint64_t bound = static_cast<uint64_t>(i) + 1;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = g.next_u64();
    while (r >= limit);
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(r % bound)]);
  }
  return order;
}

}  // namespace timbre::data
