// The dispatch between backends: kernels.h declared once per backend
// namespace, and TIMBRE_DISPATCH, which calls the twin that matches a device.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/geometry.h"
#include "kernels/ops.h"
#include "timbre/core/device.h"

namespace timbre::kernels {
namespace cpu {
#include "kernels/kernels.h"
}
namespace cuda {
#include "kernels/kernels.h"
}

[[noreturn]] void cuda_unavailable(const char* kernel);

// Dropout's mask, shared by every backend: a SplitMix64 hash of (seed, index).
#if defined(__CUDACC__)
__host__ __device__
#endif
inline bool dropout_keeps(uint64_t seed, int64_t index, double rate) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(index) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53 >= rate;
}

}  // namespace timbre::kernels

// TIMBRE_DISPATCH(device, kernel, args...) runs kernels::cpu::kernel or
// kernels::cuda::kernel by the device the tensors live on.
#ifdef TIMBRE_WITH_CUDA_KERNELS
#define TIMBRE_DISPATCH(device, kernel, ...)                   \
  do {                                                         \
    if ((device).is_cpu())                                     \
      ::timbre::kernels::cpu::kernel(__VA_ARGS__);             \
    else                                                       \
      ::timbre::kernels::cuda::kernel(__VA_ARGS__);            \
  } while (0)
#else
#define TIMBRE_DISPATCH(device, kernel, ...)                   \
  do {                                                         \
    if ((device).is_cpu())                                     \
      ::timbre::kernels::cpu::kernel(__VA_ARGS__);             \
    else                                                       \
      ::timbre::kernels::cuda_unavailable(#kernel);            \
  } while (0)
#endif

// Explicit instantiation of a kernel template for float and double, checked
// against its declaration in kernels.h (a differing signature fails to compile).
#define TIMBRE_INSTANTIATE_KERNEL(kernel)              \
  template decltype(kernel<float>) kernel<float>;      \
  template decltype(kernel<double>) kernel<double>;
