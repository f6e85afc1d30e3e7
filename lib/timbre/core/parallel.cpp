#include "timbre/core/parallel.h"

#include "timbre/core/error.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace timbre {

void set_num_threads(int threads) {
  check(threads >= 1, "set_num_threads", "expected at least 1 thread, got ", threads);
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
}

int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace timbre
