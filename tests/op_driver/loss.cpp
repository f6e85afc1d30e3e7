// Cases of softmax_cross_entropy (kernels/cpu/loss.cpp, kernels/cuda/loss.cu).
#include "op_driver/driver.h"
#include "op_driver/shapes.h"

namespace timbre::testing::op_driver {

using kernels::Op;

std::vector<Case> softmax_cross_entropy_cases() {
  std::vector<Case> cases;
  for (const int64_t classes : {10, 40, 8}) {
    const int64_t rows = classes == 8 ? kSeedBatch : 11, n = rows * classes;  // 8: the synthetic genres (bench)
    Case c{Op::softmax_cross_entropy, std::to_string(rows) + " rows x " + std::to_string(classes) + " classes"};
    // Targets of any sum (one-hot rows, smoothed labels and mixup's blends are all such rows);
    // the loss's upstream gradient is the same for every row: the total is a mean.
    c.in("logits", n, uniform(-8, 8), "glogits").in("targets", n, uniform(0, 1));
    c.out("probs", n).out("loss", rows, "gloss", constant(1.0 / rows));
    c.forward = calls([=](auto& r) {
      OP_CALL(r, softmax_cross_entropy_forward, rows, classes, r["logits"], r["targets"], r["probs"], r["loss"]);
    });
    c.backward = calls([=](auto& r) {
      OP_CALL(r, softmax_cross_entropy_backward, rows, classes, r["probs"], r["targets"], r.start("gloss"),
              r["glogits"]);
    });
    c.bench = classes == 8;
    cases.push_back(c);
  }
  return cases;
}

}  // namespace timbre::testing::op_driver
