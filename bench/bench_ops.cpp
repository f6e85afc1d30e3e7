// Every op of the op table (kernels/ops.def) timed at the seed models' shapes
// from the op driver's cases marked `bench` (tests/op_driver): each case's
// forward and backward kernels in float, on the CPU and, where a GPU is usable,
// natively on CUDA (each iteration waits for the device). Names:
// BM_<backend>_<op>_<forward|backward>/<the case's variables>.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "op_driver/driver.h"

using namespace timbre::testing::op_driver;

namespace {
void register_case(const Case& c, Backend b, bool backward) {
  const std::string name = std::string("BM_") + (b == Backend::cpu ? "cpu" : "cuda") + "_" +
                           std::string(timbre::kernels::op_name(c.op)) + (backward ? "_backward/" : "_forward/") +
                           c.label;
  benchmark::RegisterBenchmark(name.c_str(), [c, b, backward](benchmark::State& state) {
    Timing timing(c, b);
    timing.forward();  // a backward reads what the forward wrote
    timing.wait();
    for (auto _ : state) {
      backward ? timing.backward() : timing.forward();
      timing.wait();
    }
  })->Unit(benchmark::kMicrosecond)->UseRealTime();
}
}  // namespace

int main(int argc, char** argv) {
  for (const timbre::kernels::OpRecord& r : timbre::kernels::kOpTable)
    for (const Case& c : cases_of(r.op)) {
      if (!c.bench) continue;
      for (const Backend b : {Backend::cpu, Backend::cuda}) {
        if (!backend_available(b)) continue;
        register_case(c, b, false);
        if (c.backward) register_case(c, b, true);
      }
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
