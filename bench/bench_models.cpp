// Whole-model throughput of the seed's three models (batch 128, random data):
// one training step (forward, loss, backward, optimizer update with the
// seed's optimizer) and one inference pass, as samples/s. Threads: OMP_NUM_THREADS.
#include "bench_common.h"
#include "timbre/models/seed_models.h"

using namespace timbre;

namespace {
constexpr int64_t kBatch = 128;

void model_step(benchmark::State& state, const models::SeedModel& spec, bool train) {
  manual_seed(1);
  nn::Sequential model = spec.make(8);
  const Tensor x = bench::uniform(models::patch_shape.prepend(kBatch), 2, -80, 0);
  std::vector<float> labels(kBatch);
  for (int64_t i = 0; i < kBatch; ++i) labels[static_cast<size_t>(i)] = static_cast<float>(i % 8);
  const Tensor y = Tensor::from<float>({kBatch}, labels);
  auto optimizer = models::make_optimizer(spec, model.trainable_parameters(), spec.learning_rate);
  model.set_training(train);
  const auto step = [&] {
    if (train) {
      optimizer->zero_grad();
      ops::softmax_cross_entropy(model(x), y).backward();
      optimizer->step();
    } else {
      NoGrad inference;
      benchmark::DoNotOptimize(model(x).raw_data());
    }
  };
  step();  // warm-up, untimed: the first step builds workspaces and fills the block cache
  for (auto _ : state) step();
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
  for (const models::SeedModel& spec : models::seed_models()) {
    bench::add("model", "train", spec.name, [&spec](benchmark::State& st) { model_step(st, spec, true); });
    bench::add("model", "infer", spec.name, [&spec](benchmark::State& st) { model_step(st, spec, false); });
  }
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
