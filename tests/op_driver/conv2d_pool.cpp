// Cases of conv2d_pool (kernels/cpu/conv2d_pool.cpp, kernels/cuda/conv2d_pool.cu):
// rows and columns left over, "same" padding, pools of every shape, tied maxima.
#include "op_driver/driver.h"
#include "op_driver/shapes.h"

namespace timbre::testing::op_driver {

using kernels::Op;

namespace {
kernels::ConvPoolGeometry pooled(const kernels::Conv2dGeometry& conv, int64_t pool_h, int64_t pool_w) {
  return {conv, pool_h, pool_w, conv.out_h / pool_h, conv.out_w / pool_w};
}

int64_t pooled_size(const kernels::ConvPoolGeometry& g) { return g.conv.batch * g.out_h * g.out_w * g.conv.out_c; }

// With `ties`, small integers and halves: every backend's convolution is exact and
// windows have tied maxima (and zeros), whose argmax must be the first in row-major
// order. Without, random values, gradient-checked (no ties to make kinks).
Case make_case(const kernels::ConvPoolGeometry& g, double negative_slope, bool ties, bool with_bias) {
  Case c{Op::conv2d_pool, label(g.conv) + " pool " + std::to_string(g.pool_h) + "x" + std::to_string(g.pool_w) +
                              " negative_slope " + std::to_string(negative_slope) + (ties ? " ties" : " random") +
                              (with_bias ? "" : ", no bias or argmax")};
  c.in("x", input_size(g.conv), ties ? integers(-3, 4) : Fill{}, "gx");
  c.in("w", kernel_size(g.conv), ties ? integers(-2, 3, 0.5) : Fill{}, with_bias ? "gw" : "");
  if (with_bias) c.in("b", g.conv.out_c, ties ? integers(-2, 3, 0.5) : Fill{}, "gb");
  c.out("y", pooled_size(g), "gy").out("argmax", pooled_size(g));
  c.forward = calls([=](auto& r) {
    OP_CALL(r, conv2d_pool_forward, g, negative_slope, r["x"], r["w"], with_bias ? r["b"] : nullptr, r["y"],
            r["argmax"]);
  });
  // Without bias: backward with gx alone, so null gradients are skipped.
  c.backward = calls([=](auto& r) {
    OP_CALL(r, conv2d_pool_backward, g, negative_slope, r["x"], r["w"], r["y"], r["argmax"], r["gy"], r["gx"],
            with_bias ? r["gw"] : nullptr, with_bias ? r["gb"] : nullptr);
  });
  c.gradcheck = !ties;
  return c;
}
}  // namespace

std::vector<Case> conv2d_pool_cases() {
  // conv: batch, in_h, in_w, in_c, out_h, out_w, out_c, kernel_h, kernel_w, stride 1, 1, pad_top, pad_left
  const kernels::ConvPoolGeometry geometries[] = {
      pooled({2, 21, 19, 1, 14, 12, 3, 8, 8, 1, 1, 0, 0}, 4, 4),  // P1.1: 3@8x8, pool 4, rows and columns left over
      pooled({2, 9, 10, 3, 9, 10, 5, 4, 4, 1, 1, 1, 1}, 2, 2),    // "same" 4x4: one row/column before, two after
      pooled({1, 8, 7, 2, 6, 6, 5, 3, 2, 1, 1, 0, 0}, 2, 1),      // pool 2x1
      pooled({2, 11, 10, 3, 11, 10, 9, 3, 3, 1, 1, 1, 1}, 3, 3),  // "same" 3x3, pool 3, more channels than a block
  };
  std::vector<Case> cases;
  for (const auto& g : geometries) {
    for (const double slope : {0.0, 0.3, 1.0}) cases.push_back(make_case(g, slope, true, true));
    cases.push_back(make_case(g, 0.3, false, true));
    cases.push_back(make_case(g, 0.3, true, false));
  }
  Case seed = make_case(pooled(seed_conv(kSeedBatch, 80, 80, 1, 4, 8, true), 2, 2), 0.3, false, true);
  seed.label = "P2's first block: " + seed.label;
  seed.bench = true;
  seed.emulate = seed.gradcheck = false;
  cases.push_back(seed);
  return cases;
}

}  // namespace timbre::testing::op_driver
