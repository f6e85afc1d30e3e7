// Fault test program (ctest dist_fault_lost_rank): two ranks train the small
// model data parallel; the last rank kills itself (SIGKILL, as a crashed node)
// at step 3. The job must end non-zero with the launcher naming the lost rank,
// not hang: rank 0 is blocked in the all-reduce when its peer dies, and MPI's
// errors-are-fatal default (with mpirun's --timeout as a backstop) ends it.
#include <csignal>
#include <cstdio>

#include "dist_support.h"

using namespace timbre;
using namespace timbre::testing;

int main() {
  auto comm = dist::init();
  manual_seed(1);
  nn::Sequential model = small_dist_model();
  optim::SGD optimizer(model.trainable_parameters(), 0.1);
  dist::DataParallel dp(model, optimizer, *comm);
  const SmallData data = small_dist_data(64);
  const dist::ShardSampler sampler(64, 16, *comm, 2);
  const std::vector<int64_t> mine = sampler.indices(0);
  for (int64_t step = 0; step < sampler.steps_per_epoch(); ++step) {
    if (step == 3 && comm->rank() == comm->world_size() - 1 && comm->world_size() > 1) {
      std::fprintf(stderr, "rank %d: killing itself at step %lld\n", comm->rank(), static_cast<long long>(step));
      std::fflush(stderr);
      std::raise(SIGKILL);
    }
    const int64_t local = sampler.local_batch();
    forward_backward(model, optimizer, data, {mine.begin() + step * local, mine.begin() + (step + 1) * local});
    dp.step();
  }
  std::printf("rank %d finished all %lld steps\n", comm->rank(), static_cast<long long>(sampler.steps_per_epoch()));
  comm.reset();
  dist::finalize();
  return 0;
}
