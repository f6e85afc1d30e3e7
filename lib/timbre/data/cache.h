// On-disk cache of extracted patches, keyed by a hash of the audio file's
// bytes and of the feature options: a second run skips extraction; a changed
// file or option misses. Entries are written to a temporary name, then renamed;
// each carries a CRC-32C of its patches, so a damaged one is detected (and
// re-extracted by the loader). Bounded by prune(): least recently used first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "timbre/core/tensor.h"
#include "timbre/data/features.h"

namespace timbre::data {

// A 64-bit hash of bytes (not cryptographic; for cache keys).
uint64_t hash_bytes(const void* data, size_t size, uint64_t seed = 0);
// hash_bytes over a file's whole content. Throws timbre::Error when it cannot be read.
uint64_t hash_file(const std::string& path);

class FeatureCache {
 public:
  // Creates `directory` when missing; throws timbre::Error when that fails.
  FeatureCache(const std::string& directory, const FeatureOptions& options);

  // The patches stored for audio of this content hash (hash_file) with this
  // cache's options, if any; a hit marks the entry as recently used. A damaged
  // entry (torn, or failing its checksum) counts as a miss, sets `*damaged`,
  // and is overwritten by the next store.
  std::optional<Tensor> load(uint64_t content_hash, bool* damaged = nullptr) const;
  void store(uint64_t content_hash, const Tensor& patches) const;

  // Removes the least recently used entries (of any options) until the entries take at most `max_bytes`,
  // and temporaries older than an hour (a killed writer's); returns how many entries were removed.
  int64_t prune(uintmax_t max_bytes) const;

  // Where the entry lives (its name holds both hashes).
  std::string entry_path(uint64_t content_hash) const;
  const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
  uint64_t options_hash_;
};

}  // namespace timbre::data
