// OpenMP policy of the CPU kernels: loops go parallel only above a grain size,
// so tiny ops stay on the calling thread; thread count is OpenMP's own
// (OMP_NUM_THREADS, or timbre::set_num_threads).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace timbre::kernels::cpu {
// Elements below which an elementwise loop is not worth a parallel region.
inline constexpr int64_t kElementwiseGrain = 1 << 15;

// Sums over items [0, items) that are the same bits in every run: each thread
// calls body(first, last, partial) once for its contiguous share of the items,
// adding into its own `width` zeroed doubles, and the partials are then added
// in thread order. In parallel only when `parallel`; body may keep per-thread
// buffers for its share (it is called once per thread).
template <class Body>
std::vector<double> per_thread_sums(int64_t items, int64_t width, bool parallel, Body body) {
  const int64_t stride = (width + 7) / 8 * 8;  // whole cache lines apart: no false sharing
  int threads = 1;
#ifdef _OPENMP
  if (parallel) threads = static_cast<int>(std::clamp<int64_t>(omp_get_max_threads(), 1, std::max<int64_t>(items, 1)));
#endif
  std::vector<double> partial(static_cast<size_t>(threads * stride), 0.0);
  int team = 1;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
  {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#pragma omp single
    team = omp_get_num_threads();  // the implicit barrier after `single` publishes it
#endif
    body(items * t / team, items * (t + 1) / team, partial.data() + t * stride);
  }
  std::vector<double> sums(partial.begin(), partial.begin() + width);
  for (int t = 1; t < team; ++t)
    for (int64_t k = 0; k < width; ++k) sums[static_cast<size_t>(k)] += partial[static_cast<size_t>(t * stride + k)];
  return sums;
}
}  // namespace timbre::kernels::cpu

#ifdef _OPENMP
#define TIMBRE_PRAGMA(x) _Pragma(#x)
#define TIMBRE_PARALLEL_FOR_IF(cond) TIMBRE_PRAGMA(omp parallel for schedule(static) if (cond))
#else
#define TIMBRE_PARALLEL_FOR_IF(cond)
#endif
