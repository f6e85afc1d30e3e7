// Where a tensor lives, and what this process can use. CUDA is optional at
// build time (TIMBRE_CUDA) and detected at run time: a CUDA build on a machine
// without a usable GPU (the runtime reports "driver insufficient" or "no
// device") simply reports zero devices.
#pragma once

#include <cstddef>
#include <string>

namespace timbre {

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return {DeviceKind::cuda, index}; }
  bool is_cpu() const { return kind == DeviceKind::cpu; }
  bool is_cuda() const { return kind == DeviceKind::cuda; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// True when this library was compiled with its CUDA kernels.
bool built_with_cuda();
// Number of usable CUDA devices now; 0 on a CPU-only build or machine.
int cuda_device_count();
// Why cuda_device_count() is 0 ("built without CUDA", "CUDA driver insufficient", ...), or "".
std::string cuda_unavailable_reason();
// Parses "cpu", "cuda", "cuda:1" or "auto"; "auto" picks cuda:0 when usable, else the CPU.
// Throws timbre::Error when CUDA is asked for and none is usable.
Device parse_device(const std::string& spec);

namespace device_memory {
// Raw device allocation and copies; CPU memory is 64-byte aligned.
void* allocate(Device device, size_t bytes);
void release(Device device, void* ptr);
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
// CUDA memory, and CPU blocks of 64 KiB and more, come from caching allocators:
// release() keeps the block for a later allocate() of its size class (on the
// CPU up to 1 GiB kept; nothing under AddressSanitizer). empty_cache() hands
// the kept blocks back to the system; cached_bytes() says how much is kept.
void empty_cache();
size_t cached_bytes();
// Page-locked host memory for batches bound for a GPU (faster, asynchronous
// copies); plain aligned host memory when no GPU is usable.
void* allocate_pinned(size_t bytes);
void release_pinned(void* ptr);
}  // namespace device_memory

}  // namespace timbre
