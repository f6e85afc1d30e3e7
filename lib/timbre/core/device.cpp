#include "timbre/core/device.h"

#include <cstdlib>
#include <cstring>

#include "timbre/core/error.h"

#ifdef TIMBRE_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace timbre {

namespace {
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
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    check(p != nullptr, "allocate", "out of memory allocating ", bytes, " bytes on the CPU");
    return p;
  }
#ifdef TIMBRE_WITH_CUDA
  check(device.index < cuda_device_count(), "allocate",
        device.str(), " requested, but ", cuda_device_count() == 0 ? cuda_unavailable_reason() : "no such device");
  cuda_check(cudaSetDevice(device.index), "cudaSetDevice");
  void* p = nullptr;
  cuda_check(cudaMalloc(&p, bytes), "cudaMalloc");
  return p;
#else
  fail("allocate: " + device.str() + " requested, but " + cuda_unavailable_reason());
#endif
}

void release(Device device, void* ptr) {
  if (device.is_cpu()) {
    std::free(ptr);
    return;
  }
#ifdef TIMBRE_WITH_CUDA
  cudaFree(ptr);
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

}  // namespace device_memory
}  // namespace timbre
