// Thread policy: OpenMP's, which honours OMP_NUM_THREADS; set_num_threads
// overrides it for this process (the examples' --threads flag).
#pragma once

namespace timbre {

void set_num_threads(int threads);
int num_threads();

}  // namespace timbre
