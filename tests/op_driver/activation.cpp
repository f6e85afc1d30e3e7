// Cases of the activations (kernels/cpu/activation.cpp, kernels/cuda/activation.cu).
#include "op_driver/driver.h"
#include "op_driver/shapes.h"

namespace timbre::testing::op_driver {

using kernels::Op;

namespace {
constexpr int64_t kOdd = 1003;                                  // not a multiple of any block or vector
constexpr int64_t kSeedActivations = kSeedBatch * 80 * 80 * 8;  // after P2's first convolution
}  // namespace

std::vector<Case> leaky_relu_cases() {
  std::vector<Case> cases;
  for (const int64_t n : {kOdd, kSeedActivations})
    for (const double slope : {0.0, 0.3}) {
      if (n == kSeedActivations && slope == 0) continue;
      Case c{Op::leaky_relu, "n " + std::to_string(n) + " negative_slope " + std::to_string(slope)};
      c.in("x", n, uniform(-4, 4, 1e-3), "gx").out("y", n, "gy");  // off the kink at 0
      c.forward = calls([=](auto& r) { OP_CALL(r, leaky_relu_forward, n, slope, r["x"], r["y"]); });
      c.backward = calls([=](auto& r) { OP_CALL(r, leaky_relu_backward, n, slope, r["x"], r["gy"], r["gx"]); });
      c.bench = n == kSeedActivations;
      c.emulate = c.gradcheck = !c.bench;
      cases.push_back(c);
    }
  return cases;
}

// sigmoid and tanh differentiate through their output.
#define TIMBRE_OUTPUT_ACTIVATION_CASES(op)                                                          \
  std::vector<Case> op##_cases() {                                                                  \
    std::vector<Case> cases;                                                                        \
    for (const int64_t n : {kOdd, kSeedActivations}) {                                              \
      Case c{Op::op, "n " + std::to_string(n)};                                                     \
      c.in("x", n, uniform(-4, 4), "gx").out("y", n, "gy");                                         \
      c.forward = calls([=](auto& r) { OP_CALL(r, op##_forward, n, r["x"], r["y"]); });             \
      c.backward = calls([=](auto& r) { OP_CALL(r, op##_backward, n, r["y"], r["gy"], r["gx"]); }); \
      c.bench = n == kSeedActivations;                                                              \
      c.emulate = c.gradcheck = !c.bench;                                                           \
      cases.push_back(c);                                                                           \
    }                                                                                               \
    return cases;                                                                                   \
  }
TIMBRE_OUTPUT_ACTIVATION_CASES(sigmoid)
TIMBRE_OUTPUT_ACTIVATION_CASES(tanh)
#undef TIMBRE_OUTPUT_ACTIVATION_CASES

std::vector<Case> softmax_cases() {
  std::vector<Case> cases;
  for (const int64_t cols : {1, 7, 45, 100, 10}) {
    const int64_t rows = cols == 10 ? kSeedBatch : 13;  // the last: the models' output layer (bench)
    Case c{Op::softmax, std::to_string(rows) + " rows x " + std::to_string(cols)};
    c.in("x", rows * cols, uniform(-6, 6), "gx").out("y", rows * cols, "gy");
    c.forward = calls([=](auto& r) { OP_CALL(r, softmax_forward, rows, cols, r["x"], r["y"]); });
    c.backward = calls([=](auto& r) { OP_CALL(r, softmax_backward, rows, cols, r["y"], r["gy"], r["gx"]); });
    c.bench = cols == 10;
    c.gradcheck = cols > 1;  // one column: softmax is the constant 1
    cases.push_back(c);
  }
  return cases;
}

}  // namespace timbre::testing::op_driver
