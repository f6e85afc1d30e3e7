#include "timbre/dist/sampler.h"

#include "timbre/core/random.h"
#include "timbre/data/batcher.h"

namespace timbre::dist {

namespace {

// SplitMix64's finaliser: nearby (seed, epoch) pairs give unrelated generator seeds.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

ShardSampler::ShardSampler(int64_t dataset_size, int64_t global_batch, int rank, int world_size, uint64_t seed,
                           Remainder remainder)
    : dataset_size_(dataset_size),
      global_batch_(global_batch),
      rank_(rank),
      world_size_(world_size),
      seed_(seed),
      remainder_(remainder) {
  const char* where = "dist::ShardSampler";
  check(world_size >= 1 && rank >= 0 && rank < world_size, where, "rank ", rank, " out of range for world size ",
        world_size);
  check(global_batch >= 1, where, "the global batch size must be positive, got ", global_batch);
  check(global_batch % world_size == 0, where, "the global batch size ", global_batch, " does not divide among ",
        world_size, " ranks: use a multiple of ", world_size, " (each rank takes global batch / ", world_size,
        " samples a step)");
  check(dataset_size >= 1, where, "the data set is empty");
  if (remainder == Remainder::drop)
    check(dataset_size >= world_size, where, "dropping the remainder of ", dataset_size, " samples over ", world_size,
          " ranks leaves none; use padding or more data");
  shard_size_ = remainder == Remainder::pad ? (dataset_size + world_size - 1) / world_size : dataset_size / world_size;
}

ShardSampler::ShardSampler(int64_t dataset_size, int64_t global_batch, const Communicator& comm, uint64_t seed,
                           Remainder remainder)
    : ShardSampler(dataset_size, global_batch, comm.rank(), comm.world_size(), seed, remainder) {}

std::vector<int64_t> ShardSampler::epoch_order(int64_t epoch) const {
  Generator g(mix(seed_ ^ mix(static_cast<uint64_t>(epoch))));
  return data::shuffled_indices(dataset_size_, g);
}

std::vector<int64_t> ShardSampler::indices(int64_t epoch) const { return shard(epoch_order(epoch)); }

std::vector<int64_t> ShardSampler::shard(const std::vector<int64_t>& order) const {
  check(static_cast<int64_t>(order.size()) == dataset_size_, "dist::ShardSampler::shard", "the order holds ",
        order.size(), " indices, the data set ", dataset_size_);
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(shard_size_));
  const int64_t total = shard_size_ * world_size_;
  // Position p of the padded order is order[p mod size]: padding repeats the first samples.
  for (int64_t p = rank_; p < total; p += world_size_) mine.push_back(order[static_cast<size_t>(p % dataset_size_)]);
  return mine;
}

}  // namespace timbre::dist
