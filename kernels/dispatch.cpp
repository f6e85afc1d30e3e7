#include "kernels/dispatch.h"

#include "timbre/core/error.h"

namespace timbre::kernels {

void cuda_unavailable(const char* kernel) {
  fail(std::string(kernel) + ": tensor is on a CUDA device, but " +
       (built_with_cuda() ? std::string("this build has no CUDA kernels yet") : cuda_unavailable_reason()));
}

}  // namespace timbre::kernels
