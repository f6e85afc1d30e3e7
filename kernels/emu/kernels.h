// kernels::emu: the CUDA kernels of kernels/cuda/*.cu compiled as C++ and run
// by the SIMT emulator (kernels/emu/simt.h) on host memory. The library
// timbre_emu defines them; tests compare them with kernels::cpu.
#pragma once

#include <cstdint>

#include "kernels/geometry.h"
#include "kernels/ops.h"

namespace timbre::kernels::emu {
#include "kernels/kernels.h"
}  // namespace timbre::kernels::emu
