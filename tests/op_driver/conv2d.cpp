// Cases of conv2d (kernels/cpu/conv2d.cpp, kernels/cuda/conv2d.cu): the direct
// path (stride 1, few channels) and im2col + GEMM (strides, wide layers).
#include "op_driver/driver.h"
#include "op_driver/shapes.h"

namespace timbre::testing::op_driver {

using kernels::Op;

std::vector<Case> conv2d_cases() {
  // batch, in_h, in_w, in_c, out_h, out_w, out_c, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left
  const kernels::Conv2dGeometry small[] = {
      {3, 9, 11, 3, 5, 10, 5, 3, 2, 2, 1, 1, 0},  // strided rows, padding above and below
      {2, 6, 7, 4, 6, 7, 3, 3, 3, 1, 1, 1, 1},    // "same"
      {1, 5, 5, 2, 5, 5, 33, 1, 1, 1, 1, 0, 0},   // 1x1, more channels than a warp
      {2, 7, 6, 17, 5, 4, 3, 3, 3, 1, 1, 0, 0},   // more input channels than the direct path takes
  };
  std::vector<Case> cases;
  const auto add = [&](const kernels::Conv2dGeometry& g, bool bench) {
    Case c{Op::conv2d, label(g)};
    c.in("x", input_size(g), {}, "gx").in("w", kernel_size(g), {}, "gw").in("b", g.out_c, {}, "gb");
    c.out("y", output_size(g), "gy");
    c.forward = calls([g](auto& r) { OP_CALL(r, conv2d_forward, g, r["x"], r["w"], r["b"], r["y"]); });
    c.backward =
        calls([g](auto& r) { OP_CALL(r, conv2d_backward, g, r["x"], r["w"], r["gy"], r["gx"], r["gw"], r["gb"]); });
    c.bench = bench;
    c.emulate = c.gradcheck = !bench;
    cases.push_back(c);
  };
  for (const auto& g : small) add(g, false);
  add(seed_conv(kSeedBatch, 80, 80, 1, 4, 8, true), true);  // P2's first convolution
  add(seed_conv(kSeedBatch, 40, 40, 8, 3, 6, true), true);  // P2's second
  return cases;
}

}  // namespace timbre::testing::op_driver
