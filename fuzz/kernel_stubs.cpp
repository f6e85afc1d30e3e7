// Stand-ins, in fuzz_keras_weights only, for the CPU kernels clang cannot compile
// (kernels/cpu/conv2d_pool.cpp uses GCC's __builtin_shuffle). The fuzz targets are
// clang builds and never run a forward pass: reaching one of these is a harness bug.
#include <stdexcept>

#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

template <class T>
void conv2d_pool_forward(const ConvPoolGeometry&, T, const T*, const T*, const T*, T*, T*) {
  throw std::logic_error("conv2d_pool_forward is not in the fuzz build (fuzz/kernel_stubs.cpp)");
}

template <class T>
void conv2d_pool_backward(const ConvPoolGeometry&, T, const T*, const T*, const T*, const T*, const T*, T*, T*, T*) {
  throw std::logic_error("conv2d_pool_backward is not in the fuzz build (fuzz/kernel_stubs.cpp)");
}

TIMBRE_INSTANTIATE_KERNEL(conv2d_pool_forward)
TIMBRE_INSTANTIATE_KERNEL(conv2d_pool_backward)

}  // namespace timbre::kernels::cpu
