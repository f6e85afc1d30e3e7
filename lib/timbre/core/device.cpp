#include "timbre/core/device.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "timbre/core/error.h"

#ifdef TIMBRE_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace timbre {

namespace {
// The caching allocator: released blocks are kept per (device, size class) and
// handed out again, so a training loop whose tensors repeat their sizes calls
// the system allocator only while its peak grows (on the CPU this also saves
// the page faults and zeroing of fresh pages). Blocks go back to the system
// by empty(), when the raw allocator runs out of memory, or on release when
// more than max_cached bytes would be kept. CUDA kernels run on the default
// stream, so a block reused by a later kernel is ordered after its earlier users.
class BlockCache {
 public:
  using RawAllocate = void* (*)(int device, size_t bytes);  // nullptr when out of memory
  using RawFree = void (*)(int device, void* p);

  BlockCache(RawAllocate raw_allocate, RawFree raw_free, size_t max_cached)
      : raw_allocate_(raw_allocate), raw_free_(raw_free), max_cached_(max_cached) {}

  // nullptr when even an emptied cache leaves the system out of memory.
  void* allocate(int device, size_t bytes) {
    const size_t size = size_class(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find({device, size});
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        live_[p] = {device, size};
        return p;
      }
    }
    void* p = raw_allocate_(device, size);
    if (!p) {
      empty();
      p = raw_allocate_(device, size);
      if (!p) return nullptr;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    live_[p] = {device, size};
    return p;
  }

  // False when p did not come from this cache (then it is left alone).
  bool release(void* p) {
    if (!p) return true;
    std::unique_lock<std::mutex> lock(mutex_);
    auto it = live_.find(p);
    if (it == live_.end()) return false;
    const Key key = it->second;
    live_.erase(it);
    if (cached_ + key.second > max_cached_) {
      lock.unlock();
      raw_free_(key.first, p);
      return true;
    }
    free_[key].push_back(p);
    cached_ += key.second;
    return true;
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [key, blocks] : free_)
      for (void* p : blocks) raw_free_(key.first, p);
    free_.clear();
    cached_ = 0;
  }

  size_t cached_bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

 private:
  // 512-byte steps up to 1 MiB, then four classes per power of two (at most 25% slack).
  static size_t size_class(size_t bytes) {
    if (bytes <= (size_t{1} << 20)) return (bytes + 511) / 512 * 512;
    size_t octave = size_t{1} << 20;
    while (octave * 2 < bytes) octave *= 2;
    const size_t step = octave / 4;
    return (bytes + step - 1) / step * step;
  }

  using Key = std::pair<int, size_t>;  // device, size class
  RawAllocate raw_allocate_;
  RawFree raw_free_;
  size_t max_cached_;
  std::mutex mutex_;
  std::map<Key, std::vector<void*>> free_;
  std::unordered_map<void*, Key> live_;
  size_t cached_ = 0;
};

// CPU blocks from this size up are cached (smaller ones are cheap for malloc),
// keeping at most kCpuMaxCached bytes. Under AddressSanitizer nothing is cached,
// so that a use after free is still reported.
constexpr size_t kCpuCachedFrom = size_t{64} << 10;
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kCpuMaxCached = 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr size_t kCpuMaxCached = 0;
#else
constexpr size_t kCpuMaxCached = size_t{1} << 30;
#endif
#else
constexpr size_t kCpuMaxCached = size_t{1} << 30;
#endif

// Never destroyed: tensors with static storage may release memory at exit.
BlockCache& cpu_cache() {
  static BlockCache* cache = new BlockCache([](int, size_t bytes) { return std::aligned_alloc(64, bytes); },
                                            [](int, void* p) { std::free(p); }, kCpuMaxCached);
  return *cache;
}

#ifdef TIMBRE_WITH_CUDA
void cuda_check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) fail(detail::concat("CUDA ", what, " failed: ", cudaGetErrorString(status)));
}

struct CudaProbe {
  int count = 0;
  std::string reason;
  CudaProbe() {
    cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      count = 0;
      reason = status == cudaErrorInsufficientDriver ? "CUDA driver insufficient (no usable GPU driver)"
               : status == cudaErrorNoDevice        ? "no CUDA device found"
                                                    : std::string("CUDA unavailable: ") + cudaGetErrorString(status);
      cudaGetLastError();  // clear the sticky error so later calls start clean
    } else if (count == 0) {
      reason = "no CUDA device found";
    }
  }
};
const CudaProbe& probe() {
  static const CudaProbe p;
  return p;
}

// Never destroyed: releasing device memory after the CUDA runtime has shut down at exit would fail.
BlockCache& cuda_cache() {
  static BlockCache* cache = new BlockCache(
      [](int device, size_t bytes) -> void* {
        cuda_check(cudaSetDevice(device), "cudaSetDevice");
        void* p = nullptr;
        const cudaError_t status = cudaMalloc(&p, bytes);
        if (status == cudaSuccess) return p;
        cudaGetLastError();
        if (status == cudaErrorMemoryAllocation) return nullptr;
        fail(detail::concat("allocate: cudaMalloc of ", bytes, " bytes on cuda:", device, " failed: ",
                            cudaGetErrorString(status)));
      },
      [](int device, void* p) {
        cudaSetDevice(device);
        cudaFree(p);
      },
      std::numeric_limits<size_t>::max());
  return *cache;
}
#endif
}  // namespace

bool built_with_cuda() {
#ifdef TIMBRE_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef TIMBRE_WITH_CUDA
  return probe().count;
#else
  return 0;
#endif
}

std::string cuda_unavailable_reason() {
#ifdef TIMBRE_WITH_CUDA
  return probe().reason;
#else
  return "timbre was built without CUDA (TIMBRE_CUDA=OFF or no nvcc found)";
#endif
}

Device parse_device(const std::string& spec) {
  if (spec == "cpu") return Device::cpu();
  if (spec == "auto") return cuda_device_count() > 0 ? Device::cuda(0) : Device::cpu();
  if (spec.rfind("cuda", 0) == 0) {
    int index = 0;
    if (spec.size() > 4) {
      check(spec[4] == ':' && spec.size() > 5, "device", "expected cpu, cuda, cuda:N or auto, got '", spec, "'");
      char* end = nullptr;
      long v = std::strtol(spec.c_str() + 5, &end, 10);
      check(*end == '\0' && v >= 0, "device", "expected cpu, cuda, cuda:N or auto, got '", spec, "'");
      index = static_cast<int>(v);
    }
    const int count = cuda_device_count();
    check(count > 0, "device", "'", spec, "' requested but no GPU is usable: ", cuda_unavailable_reason());
    check(index < count, "device", "'", spec, "' requested but only ", count, " CUDA device(s) exist");
    return Device::cuda(index);
  }
  fail("device: expected cpu, cuda, cuda:N or auto, got '" + spec + "'");
}

namespace device_memory {

void* allocate(Device device, size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (device.is_cpu()) {
    void* p = bytes >= kCpuCachedFrom ? cpu_cache().allocate(0, bytes) : std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    check(p != nullptr, "allocate", "out of memory allocating ", bytes, " bytes on the CPU");
    return p;
  }
#ifdef TIMBRE_WITH_CUDA
  check(device.index < cuda_device_count(), "allocate",
        device.str(), " requested, but ", cuda_device_count() == 0 ? cuda_unavailable_reason() : "no such device");
  void* p = cuda_cache().allocate(device.index, bytes);
  check(p != nullptr, "allocate", "out of memory allocating ", bytes, " bytes on ", device.str());
  return p;
#else
  fail("allocate: " + device.str() + " requested, but " + cuda_unavailable_reason());
#endif
}

void release(Device device, void* ptr) {
  if (device.is_cpu()) {
    if (!cpu_cache().release(ptr)) std::free(ptr);
    return;
  }
#ifdef TIMBRE_WITH_CUDA
  cuda_cache().release(ptr);
#endif
}

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef TIMBRE_WITH_CUDA
  cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault), "cudaMemcpy");
#else
  fail("copy: CUDA memory used, but " + cuda_unavailable_reason());
#endif
}

void empty_cache() {
  cpu_cache().empty();
#ifdef TIMBRE_WITH_CUDA
  if (cuda_device_count() > 0) cuda_cache().empty();
#endif
}

size_t cached_bytes() {
#ifdef TIMBRE_WITH_CUDA
  if (cuda_device_count() > 0) return cpu_cache().cached_bytes() + cuda_cache().cached_bytes();
#endif
  return cpu_cache().cached_bytes();
}

void* allocate_pinned(size_t bytes) {
  if (bytes == 0) bytes = 1;
#ifdef TIMBRE_WITH_CUDA
  if (cuda_device_count() > 0) {
    void* p = nullptr;
    cuda_check(cudaMallocHost(&p, bytes), "cudaMallocHost");
    return p;
  }
#endif
  return allocate(Device::cpu(), bytes);
}

void release_pinned(void* ptr) {
#ifdef TIMBRE_WITH_CUDA
  if (cuda_device_count() > 0) {
    cudaFreeHost(ptr);
    return;
  }
#endif
  release(Device::cpu(), ptr);
}

}  // namespace device_memory
}  // namespace timbre
