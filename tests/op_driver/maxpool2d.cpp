// Cases of maxpool2d (kernels/cpu/maxpool2d.cpp, kernels/cuda/maxpool2d.cu).
#include "op_driver/driver.h"
#include "op_driver/shapes.h"

namespace timbre::testing::op_driver {

using kernels::Op;

std::vector<Case> maxpool2d_cases() {
  // batch, in_h, in_w, channels, out_h, out_w, pool_h, pool_w, stride_h, stride_w
  const kernels::Pool2dGeometry geometries[] = {
      {2, 7, 9, 3, 3, 4, 2, 2, 2, 2},  // leftover rows and columns
      {2, 9, 8, 5, 4, 3, 3, 3, 2, 2},  // overlapping windows
      {1, 4, 6, 2, 2, 6, 2, 1, 2, 1},  // pool 2x1
  };
  std::vector<Case> cases;
  const auto add = [&](const kernels::Pool2dGeometry& g, bool ties) {
    // Ties: few distinct values, the gradient must go to the first maximum.
    Case c{Op::maxpool2d, label(g) + (ties ? " ties" : " random")};
    c.in("x", input_size(g), ties ? integers(0, 4) : Fill{}, "gx");
    c.out("y", output_size(g), "gy").out("argmax", output_size(g));
    c.forward = calls([g](auto& r) { OP_CALL(r, maxpool2d_forward, g, r["x"], r["y"], r["argmax"]); });
    c.backward = calls([g](auto& r) { OP_CALL(r, maxpool2d_backward, g, r["argmax"], r["gy"], r["gx"]); });
    c.gradcheck = !ties;
    cases.push_back(c);
  };
  for (const auto& g : geometries)
    for (const bool ties : {true, false}) add(g, ties);
  add({kSeedBatch, 80, 80, 8, 40, 40, 2, 2, 2, 2}, false);  // P2's first pooling
  cases.back().bench = true;
  cases.back().emulate = cases.back().gradcheck = false;
  return cases;
}

}  // namespace timbre::testing::op_driver
