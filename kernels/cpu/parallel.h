// OpenMP policy of the CPU kernels: loops go parallel only above a grain size,
// so tiny ops stay on the calling thread; thread count is OpenMP's own
// (OMP_NUM_THREADS, or timbre::set_num_threads).
#pragma once

#include <cstdint>

namespace timbre::kernels::cpu {
// Elements below which an elementwise loop is not worth a parallel region.
inline constexpr int64_t kElementwiseGrain = 1 << 15;
}  // namespace timbre::kernels::cpu

#ifdef _OPENMP
#define TIMBRE_PRAGMA(x) _Pragma(#x)
#define TIMBRE_PARALLEL_FOR_IF(cond) TIMBRE_PRAGMA(omp parallel for schedule(static) if (cond))
#else
#define TIMBRE_PARALLEL_FOR_IF(cond)
#endif
