// LeakyReLU, sigmoid, tanh and softmax at the seed models' shapes (batch 128), in GB/s.
#include "bench_common.h"
#include "kernels/dispatch.h"

using namespace timbre;

namespace {
enum class Op { leaky_relu, sigmoid, tanh, softmax };

void activation(benchmark::State& state, Op op, int64_t rows, int64_t cols, bool backward) {
  const Tensor x = bench::uniform({rows, cols}, 1), y = Tensor::zeros_like(x), gx = Tensor::zeros_like(x);
  const int64_t n = x.numel();
  const float *xp = x.data<float>(), *yp = y.data<float>();
  float* gp = gx.data<float>();
  for (auto _ : state) {
    switch (op) {
      case Op::leaky_relu:
        backward ? kernels::cpu::leaky_relu_backward<float>(n, 0.3f, xp, yp, gp)
                 : kernels::cpu::leaky_relu_forward<float>(n, 0.3f, xp, y.data<float>());
        break;
      case Op::sigmoid:
        backward ? kernels::cpu::sigmoid_backward<float>(n, yp, xp, gp) : kernels::cpu::sigmoid_forward<float>(n, xp, y.data<float>());
        break;
      case Op::tanh:
        backward ? kernels::cpu::tanh_backward<float>(n, yp, xp, gp) : kernels::cpu::tanh_forward<float>(n, xp, y.data<float>());
        break;
      case Op::softmax:
        backward ? kernels::cpu::softmax_backward<float>(rows, cols, yp, xp, gp)
                 : kernels::cpu::softmax_forward<float>(rows, cols, xp, y.data<float>());
        break;
    }
    benchmark::ClobberMemory();
  }
  bench::set_gbytes(state, 4.0 * static_cast<double>(n) * (backward ? 3 : 2));
}

const bool registered = [] {
  struct Case {
    const char* op;
    Op kind;
    const char* label;
    int64_t rows, cols;
  };
  for (const Case& c : {Case{"leaky_relu", Op::leaky_relu, "p2_conv1", 128 * 80 * 80, 8},
                        Case{"leaky_relu", Op::leaky_relu, "p11_conv8x8", 128 * 73 * 73, 3},
                        Case{"sigmoid", Op::sigmoid, "lstm_gates_128x512", 128, 512},
                        Case{"tanh", Op::tanh, "lstm_gates_128x512", 128, 512},
                        Case{"softmax", Op::softmax, "logits_128x8", 128, 8}}) {
    bench::add(c.op, "fwd", c.label, [c](benchmark::State& st) { activation(st, c.kind, c.rows, c.cols, false); });
    bench::add(c.op, "bwd", c.label, [c](benchmark::State& st) { activation(st, c.kind, c.rows, c.cols, true); });
  }
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
