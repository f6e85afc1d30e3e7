// Whole-model throughput of the seed's three models (batch 128, random data):
// one training step (forward, loss, backward, optimizer update with the
// seed's optimizer) and one inference pass, as samples/s. Threads: OMP_NUM_THREADS.
// BM_model_<pass>/<model> runs on the CPU; BM_model_<pass>/<model>/cuda on cuda:0,
// registered only when a GPU is usable at run time.
#include "bench_common.h"
#include "timbre/models/seed_models.h"

using namespace timbre;

namespace {
constexpr int64_t kBatch = 128;

void model_step(benchmark::State& state, const models::SeedModel& spec, bool train, Device device) {
  manual_seed(1);
  nn::Sequential model = spec.make(8);
  model.to(device);
  const Tensor x = bench::uniform(models::patch_shape.prepend(kBatch), 2, -80, 0).to(device);
  std::vector<float> labels(kBatch);
  for (int64_t i = 0; i < kBatch; ++i) labels[static_cast<size_t>(i)] = static_cast<float>(i % 8);
  const Tensor y = Tensor::from<float>({kBatch}, labels).to(device);
  auto optimizer = models::make_optimizer(spec, model.trainable_parameters(), spec.learning_rate);
  model.set_training(train);
  // Each step ends by reading its result back to the host: on a GPU that waits for its kernels,
  // so a timed step is the whole step (on the CPU the copy of a few floats costs nothing).
  const auto step = [&] {
    if (train) {
      optimizer->zero_grad();
      const Tensor loss = ops::softmax_cross_entropy(model(x), y);
      loss.backward();
      optimizer->step();
      benchmark::DoNotOptimize(loss.item<float>());
    } else {
      NoGrad inference;
      benchmark::DoNotOptimize(model(x).to_vector<float>());
    }
  };
  step();  // warm-up, untimed: the first step builds workspaces and fills the block cache
  for (auto _ : state) step();
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

void add_models(Device device, const std::string& suffix) {
  for (const models::SeedModel& spec : models::seed_models())
    for (const bool train : {true, false})
      bench::add("model", train ? "train" : "infer", spec.name + suffix,
                 [&spec, train, device](benchmark::State& st) { model_step(st, spec, train, device); });
}

const bool registered = [] {
  add_models(Device::cpu(), "");
  if (cuda_device_count() > 0) add_models(Device::cuda(), "/cuda");
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
