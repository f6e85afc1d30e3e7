// Cases of the optimizer steps (kernels/cpu/optimizer.cpp, kernels/cuda/optimizer.cu).
#include <cmath>
#include <memory>

#include "op_driver/driver.h"

namespace timbre::testing::op_driver {

using kernels::Op;

namespace {
constexpr int64_t kOdd = 777;
constexpr int64_t kSeedParameters = 1 << 20;  // about P2's parameter count, as one arena
}  // namespace

std::vector<Case> sgd_update_cases() {
  struct Rule {
    double momentum;
    bool nesterov;
  };
  std::vector<Case> cases;
  for (const int64_t n : {kOdd, kSeedParameters})
    for (const Rule rule : {Rule{0, false}, Rule{0.9, false}, Rule{0.9, true}}) {
      if (n == kSeedParameters && rule.nesterov) continue;
      Case c{Op::sgd_update, "n " + std::to_string(n) + " momentum " + std::to_string(rule.momentum) +
                                 (rule.nesterov ? " nesterov" : "")};
      c.in("g", n).inout("w", n).inout("velocity", n);
      c.forward = calls([=](auto& r) {
        OP_CALL(r, sgd_update, n, 0.1, rule.momentum, rule.nesterov, r["g"], r["w"],
                rule.momentum == 0 ? nullptr : r["velocity"]);  // momentum 0 needs no velocity
      });
      c.bench = n == kSeedParameters && rule.momentum != 0;
      c.emulate = n == kOdd;
      cases.push_back(c);
    }
  return cases;
}

std::vector<Case> adam_update_cases() {
  std::vector<Case> cases;
  for (const int64_t n : {kOdd, kSeedParameters}) {
    Case c{Op::adam_update, "n " + std::to_string(n) + " step 3"};
    c.in("g", n).inout("w", n).inout("m", n).inout("v", n, uniform(0, 1));
    c.forward = calls([=](auto& r) {
      OP_CALL(r, adam_update, n, 1e-3, 0.9, 0.999, 1e-7, int64_t{3}, r["g"], r["w"], r["m"], r["v"]);
    });
    c.bench = n == kSeedParameters;
    c.emulate = !c.bench;
    cases.push_back(c);
  }
  return cases;
}

std::vector<Case> clip_by_global_norm_cases() {
  std::vector<Case> cases;
  for (const int64_t n : {int64_t{1}, kOdd, int64_t{70001}, kSeedParameters})
    for (const double bound : {0.5, 2.0}) {  // times the gradients' norm: clipped, untouched
      if (n == kSeedParameters && bound > 1) continue;
      Case c{Op::clip_by_global_norm, "n " + std::to_string(n) + " bound " + std::to_string(bound) + " x the norm"};
      c.inout("g", n);
      // Every run of a case starts from the same values: their norm is computed once.
      auto norm = std::make_shared<double>(-1);
      c.forward = calls([=](auto& r) {
        if (*norm < 0) {
          double sum = 0;
          for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(r.start("g", i)) * r.start("g", i);
          *norm = std::sqrt(sum);
        }
        OP_CALL(r, clip_by_global_norm, n, bound * *norm, r["g"]);
      });
      c.bench = n == kSeedParameters;
      c.emulate = !c.bench;
      cases.push_back(c);
    }
  return cases;
}

}  // namespace timbre::testing::op_driver
