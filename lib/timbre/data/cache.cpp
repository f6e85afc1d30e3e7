#include "timbre/data/cache.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "timbre/core/error.h"
#include "timbre/data/crc32c.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#include <unistd.h>

namespace timbre::data {

namespace {

// An entry: magic, rank (int64), dims (int64 each), CRC-32C of the patches' bytes (uint32), 4 zero bytes, patches.
constexpr char kMagic[8] = {'T', 'M', 'B', 'R', 'P', 'C', '0', '2'};
// Bumped when extraction or the entry format changes in a way the options do not show.
// 2: FFTW_ESTIMATE plans, the minimum clip length; 3: entries carry a checksum.
constexpr const char* kFormatVersion = "timbre-features-3";
constexpr const char* kEntrySuffix = ".patches";

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

std::string hex(uint64_t v) {
  char s[17];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(v));
  return s;
}

}  // namespace

uint64_t hash_bytes(const void* data, size_t size, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = mix(seed ^ (size * 0x9e3779b97f4a7c15ULL));
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    h = (h ^ mix(word)) * 0x9e3779b97f4a7c15ULL;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p + i, size - i);
  return mix(h ^ mix(tail ^ (size - i)));
}

uint64_t hash_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), "hash_file(" + path + ")", "cannot open the file");
  std::vector<char> buffer(1 << 20);
  uint64_t h = 0;
  size_t total = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const size_t got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    h = hash_bytes(buffer.data(), got, h + total);
    total += got;
  }
  check(!in.bad(), "hash_file(" + path + ")", "read error after ", total, " bytes");
  return hash_bytes(&total, sizeof total, h);
}

FeatureCache::FeatureCache(const std::string& directory, const FeatureOptions& options) : directory_(directory) {
  const std::string key = std::string(kFormatVersion) + " " + describe(options);
  options_hash_ = hash_bytes(key.data(), key.size());
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  check(!ec && std::filesystem::is_directory(directory), "FeatureCache(" + directory + ")",
        "cannot create the cache folder: ", ec.message());
}

std::string FeatureCache::entry_path(uint64_t content_hash) const {
  return (std::filesystem::path(directory_) / (hex(content_hash) + "-" + hex(options_hash_) + kEntrySuffix))
      .string();
}

std::optional<Tensor> FeatureCache::load(uint64_t content_hash, bool* damaged) const {
  const std::string path = entry_path(content_hash);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  auto broken = [&]() -> std::optional<Tensor> {
    if (damaged) *damaged = true;
    return std::nullopt;
  };
  char magic[8];
  int64_t rank = 0;
  if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) return broken();
  if (!in.read(reinterpret_cast<char*>(&rank), sizeof rank) || rank < 1 || rank > 8) return broken();
  std::vector<int64_t> dims(static_cast<size_t>(rank));
  if (!in.read(reinterpret_cast<char*>(dims.data()), static_cast<std::streamsize>(rank * sizeof(int64_t))))
    return broken();
  for (int64_t d : dims)
    if (d < 0 || d > (int64_t{1} << 32)) return broken();
  uint32_t crc_and_pad[2] = {};
  if (!in.read(reinterpret_cast<char*>(crc_and_pad), sizeof crc_and_pad)) return broken();
  Tensor t = Tensor::empty(Shape(dims));
  if (!in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.bytes()))) return broken();
  if (in.peek() != std::char_traits<char>::eof()) return broken();  // trailing bytes: not one of ours
  if (crc32c(t.raw_data(), t.bytes()) != crc_and_pad[0]) return broken();
  std::error_code ec;
  std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now(), ec);  // recently used
  return t;
}

int64_t FeatureCache::prune(uintmax_t max_bytes) const {
  namespace fs = std::filesystem;
  struct Entry {
    fs::file_time_type used;
    uintmax_t bytes;
    fs::path path;
  };
  std::vector<Entry> entries;
  uintmax_t total = 0;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& item : fs::directory_iterator(directory_, ec)) {
    const std::string name = item.path().filename().string();
    const fs::file_time_type used = item.last_write_time(ec);
    if (ec) continue;
    if (name.find(".tmp.") != std::string::npos) {
      if (now - used > std::chrono::hours(1)) fs::remove(item.path(), ec);
    } else if (name.size() > 8 && name.ends_with(kEntrySuffix)) {
      entries.push_back({used, item.file_size(ec), item.path()});
      total += entries.back().bytes;
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.used < b.used; });
  int64_t removed = 0;
  for (const Entry& e : entries) {
    if (total <= max_bytes) break;
    if (fs::remove(e.path, ec)) {
      total -= e.bytes;
      ++removed;
    }
  }
  return removed;
}

void FeatureCache::store(uint64_t content_hash, const Tensor& patches) const {
  const std::string target = entry_path(content_hash);
  int thread = 0;
#ifdef _OPENMP
  thread = omp_get_thread_num();
#endif
  const std::string temp = target + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(thread);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    check(out.good(), "FeatureCache", "cannot write ", temp);
    const int64_t rank = patches.rank();
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(&rank), sizeof rank);
    out.write(reinterpret_cast<const char*>(patches.shape().dims().data()),
              static_cast<std::streamsize>(rank * sizeof(int64_t)));
    const uint32_t crc_and_pad[2] = {crc32c(patches.raw_data(), patches.bytes()), 0};
    out.write(reinterpret_cast<const char*>(crc_and_pad), sizeof crc_and_pad);
    out.write(static_cast<const char*>(patches.raw_data()), static_cast<std::streamsize>(patches.bytes()));
    check(out.good(), "FeatureCache", "write to ", temp, " failed");
  }
  std::error_code ec;
  std::filesystem::rename(temp, target, ec);
  check(!ec, "FeatureCache", "cannot rename ", temp, " to ", target, ": ", ec.message());
}

}  // namespace timbre::data
