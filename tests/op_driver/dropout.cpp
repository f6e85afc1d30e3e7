// Cases of dropout (kernels/cpu/dropout.cpp, kernels/cuda/dropout.cu): every
// backend must draw the CPU's mask; inputs away from zero make a differing mask
// a mismatch.
#include "op_driver/driver.h"
#include "op_driver/shapes.h"

namespace timbre::testing::op_driver {

using kernels::Op;

std::vector<Case> dropout_cases() {
  std::vector<Case> cases;
  for (const int64_t n : {int64_t{2049}, kSeedBatch * 256}) {  // the second: before P2's classifier
    Case c{Op::dropout, "n " + std::to_string(n) + " rate 0.3"};
    c.in("x", n, uniform(-1, 1, 0.1), "gx").out("y", n, "gy");
    c.forward = calls([=](auto& r) { OP_CALL(r, dropout_forward, n, 0.3, uint64_t{77}, r["x"], r["y"]); });
    c.backward = calls([=](auto& r) { OP_CALL(r, dropout_backward, n, 0.3, uint64_t{77}, r["gy"], r["gx"]); });
    c.bench = n != 2049;
    cases.push_back(c);
  }
  return cases;
}

}  // namespace timbre::testing::op_driver
