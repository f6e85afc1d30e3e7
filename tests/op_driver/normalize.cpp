// Cases of normalize (kernels/cpu/normalize.cpp, kernels/cuda/normalize.cu):
// Keras' Normalization, one global statistic or one per group of `inner` elements.
#include "op_driver/driver.h"
#include "op_driver/shapes.h"

namespace timbre::testing::op_driver {

using kernels::Op;

std::vector<Case> normalize_cases() {
  struct Shape {
    int64_t n, inner, groups;
    bool tiny_variance;  // under eps^2: the max(sqrt(variance), eps) floor
  };
  std::vector<Case> cases;
  // The last: per mel band over a batch of patches (80 bands, 1 channel), as the trainers' input.
  for (const Shape s : {Shape{1001, 1, 1, false}, Shape{1001, 3, 7, false}, Shape{1001, 3, 7, true},
                        Shape{kSeedBatch * 80 * 80, 80, 80, false}}) {
    Case c{Op::normalize, "n " + std::to_string(s.n) + " inner " + std::to_string(s.inner) + " groups " +
                              std::to_string(s.groups) + (s.tiny_variance ? " variance 1e-8" : "")};
    c.in("x", s.n, uniform(-3, 3), "gx").in("mean", s.groups);
    c.in("variance", s.groups, s.tiny_variance ? constant(1e-8) : uniform(0.5, 2)).out("y", s.n, "gy");
    c.forward = calls([=](auto& r) {
      OP_CALL(r, normalize_forward, s.n, s.inner, s.groups, 1e-3, r["x"], r["mean"], r["variance"], r["y"]);
    });
    c.backward = calls([=](auto& r) {
      OP_CALL(r, normalize_backward, s.n, s.inner, s.groups, 1e-3, r["variance"], r["gy"], r["gx"]);
    });
    c.bench = s.groups == 80;
    c.emulate = c.gradcheck = !c.bench;
    cases.push_back(c);
  }
  return cases;
}

}  // namespace timbre::testing::op_driver
