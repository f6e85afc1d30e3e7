#include "kernels/dispatch.h"

#include "timbre/core/error.h"

namespace timbre::kernels {

void cuda_unavailable(const char* kernel) {
  fail(std::string(kernel) + ": tensor is on a CUDA device, but " +
       (built_with_cuda() ? std::string("this build has no CUDA kernels yet") : cuda_unavailable_reason()));
}

bool supports(Op op, const Device& device, const FusionGeometry& g) {
#ifdef TIMBRE_WITH_CUDA_KERNELS
  return device.is_cpu() ? cpu::supports(op, g) : cuda::supports(op, g);
#else
  return device.is_cpu() && cpu::supports(op, g);  // a CUDA tensor meets cuda_unavailable in the unfused ops
#endif
}

}  // namespace timbre::kernels
