// Cases of dense (kernels/cpu/dense.cpp, kernels/cuda/dense.cu).
#include "op_driver/driver.h"

namespace timbre::testing::op_driver {

using kernels::Op;

std::vector<Case> dense_cases() {
  struct Shape {
    int64_t rows, in, out;
    bool bench;
  };
  std::vector<Case> cases;
  // Odd sizes; P2's classifier head at batch 128 (bench).
  for (const Shape s : {Shape{37, 29, 13, false}, Shape{128, 64, 10, true}})
    for (const bool bias : {true, false}) {
      if (s.bench && !bias) continue;
      Case c{Op::dense, std::to_string(s.rows) + "x" + std::to_string(s.in) + " -> " + std::to_string(s.out) +
                            (bias ? " with bias" : " without bias")};
      c.in("x", s.rows * s.in, {}, "gx").in("w", s.in * s.out, {}, "gw");
      if (bias) c.in("b", s.out, {}, "gb");
      c.out("y", s.rows * s.out, "gy");
      c.forward = calls([s, bias](auto& r) {
        OP_CALL(r, dense_forward, s.rows, s.in, s.out, r["x"], r["w"], bias ? r["b"] : nullptr, r["y"]);
      });
      c.backward = calls([s, bias](auto& r) {
        OP_CALL(r, dense_backward, s.rows, s.in, s.out, r["x"], r["w"], r["gy"], r["gx"], r["gw"],
                bias ? r["gb"] : nullptr);
      });
      c.bench = s.bench;
      c.gradcheck = !s.bench;
      cases.push_back(c);
    }
  return cases;
}

}  // namespace timbre::testing::op_driver
