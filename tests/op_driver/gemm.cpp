// Cases of gemm (kernels/cpu/gemm.cpp, kernels/cuda/gemm.cu): every transpose,
// odd sizes, leading dimensions wider than the rows, beta 0 over NaN.
#include <limits>

#include "op_driver/driver.h"

namespace timbre::testing::op_driver {

using kernels::Op;

std::vector<Case> gemm_cases() {
  struct Shape {
    int64_t m, n, k;
    double beta;
    bool bench;
  };
  std::vector<Case> cases;
  for (const Shape s : {Shape{67, 45, 33, 0, false}, Shape{1, 70, 129, 1.25, false}, Shape{130, 3, 17, -0.5, false},
                        Shape{5, 6, 0, 2, false}, Shape{128, 512, 128, 0, true}})
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      if (s.bench && ta) continue;  // the LSTM's step GEMMs: B plain and transposed
      const int64_t pad = s.bench ? 0 : 3;
      const int64_t lda = (ta ? s.m : s.k) + pad, ldb = (tb ? s.k : s.n) + pad, ldc = s.n + pad;
      Case c{Op::gemm, "m " + std::to_string(s.m) + " n " + std::to_string(s.n) + " k " + std::to_string(s.k) +
                           " trans_a " + std::to_string(ta) + " trans_b " + std::to_string(tb) + " beta " +
                           std::to_string(s.beta)};
      // With beta 0, C may hold garbage: NaN must not leak into the result.
      const Fill c_start = s.beta == 0 ? constant(std::numeric_limits<double>::quiet_NaN()) : Fill{};
      c.in("a", (ta ? s.k : s.m) * lda).in("b", (tb ? s.n : s.k) * ldb).inout("c", s.m * ldc, c_start);
      c.forward = calls([=](auto& r) {
        OP_CALL(r, gemm, ta, tb, s.m, s.n, s.k, 0.75, r["a"], lda, r["b"], ldb, s.beta, r["c"], ldc);
      });
      c.bench = s.bench;
      c.emulate = !s.bench;
      cases.push_back(c);
    }
  return cases;
}

}  // namespace timbre::testing::op_driver
