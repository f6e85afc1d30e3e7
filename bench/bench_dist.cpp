// Data-parallel training throughput and gradient all-reduce time. Run as one
// process (OMP_NUM_THREADS threads) or as an MPI job, e.g. on one 2-core machine:
//   OMP_NUM_THREADS=2 build/bench/bench_dist
//   OMP_NUM_THREADS=1 mpirun -np 2 --bind-to core build/bench/bench_dist
// BM_dist_train/<model>: one training step of the seed model at global batch
// 128 (128 / ranks per rank, random data), gradients averaged across ranks by
// DataParallel; samples/s counts the global batch; allreduce_ms is the mean
// time of synchronize_gradients() per step (including waiting for the slower rank).
// BM_dist_allreduce/<model>: the average all-reduce of that model's gradient
// arena alone, after a barrier. Every rank must run the same number of
// iterations (a collective each), so they are fixed: TIMBRE_BENCH_DIST_STEPS
// training steps (default 3) and 20 times as many all-reduces. Only rank 0 reports.
#include <cstdlib>

#include "bench_common.h"
#include "timbre/dist/data_parallel.h"
#include "timbre/models/seed_models.h"

using namespace timbre;

namespace {

constexpr int64_t kGlobalBatch = 128;
dist::Communicator* world = nullptr;

int64_t steps() {
  const char* env = std::getenv("TIMBRE_BENCH_DIST_STEPS");
  return env ? std::max(1, std::atoi(env)) : 3;
}

void train_step(benchmark::State& state, const models::SeedModel& spec) {
  manual_seed(1);
  nn::Sequential model = spec.make(8);
  const int64_t local = kGlobalBatch / world->world_size();
  const Tensor x = bench::uniform(models::patch_shape.prepend(local), 2 + world->rank(), -80, 0);
  std::vector<float> labels(static_cast<size_t>(local));
  for (int64_t i = 0; i < local; ++i) labels[static_cast<size_t>(i)] = static_cast<float>((i + world->rank()) % 8);
  const Tensor y = Tensor::from<float>({local}, labels);
  auto optimizer = models::make_optimizer(spec, model.trainable_parameters(), spec.learning_rate);
  dist::DataParallel dp(model, *optimizer, *world);
  model.set_training(true);
  // One untimed step: first-touch allocations and the workspaces.
  optimizer->zero_grad();
  ops::softmax_cross_entropy(model(x), y).backward();
  dp.step();
  double synchronize_seconds = 0;
  for (auto _ : state) {
    optimizer->zero_grad();
    ops::softmax_cross_entropy(model(x), y).backward();
    dp.synchronize_gradients();
    synchronize_seconds += dp.last_synchronize_seconds();
    optimizer->step();
  }
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(kGlobalBatch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["allreduce_ms"] = 1e3 * synchronize_seconds / static_cast<double>(state.iterations());
  state.counters["ranks"] = world->world_size();
}

void allreduce(benchmark::State& state, const models::SeedModel& spec) {
  nn::Sequential model = spec.make(8);
  int64_t parameters = 0;
  for (const Tensor& p : model.trainable_parameters()) parameters += p.numel();
  Tensor gradients = Tensor::full({parameters}, 1.0);
  world->barrier();
  for (auto _ : state) world->all_reduce(gradients, dist::ReduceOp::average);
  state.counters["MB"] = static_cast<double>(gradients.bytes()) / 1e6;
  state.counters["ranks"] = world->world_size();
}

// Rank 0 prints; the others run the same benchmarks silently.
class SilentReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  auto comm = dist::init();
  world = comm.get();
  benchmark::Initialize(&argc, argv);
  for (const models::SeedModel& spec : models::seed_models()) {
    benchmark::RegisterBenchmark(("BM_dist_train/" + spec.name).c_str(),
                                 [&spec](benchmark::State& st) { train_step(st, spec); })
        ->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(steps());
    benchmark::RegisterBenchmark(("BM_dist_allreduce/" + spec.name).c_str(),
                                 [&spec](benchmark::State& st) { allreduce(st, spec); })
        ->UseRealTime()->Unit(benchmark::kMicrosecond)->Iterations(20 * steps());
  }
  if (world->is_root()) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    SilentReporter silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  comm.reset();
  dist::finalize();
  return 0;
}
