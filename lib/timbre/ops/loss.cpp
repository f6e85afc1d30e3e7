#include "timbre/ops/loss.h"

#include <algorithm>
#include <cmath>

#include "timbre/ops/op_support.h"

namespace timbre::ops {

Tensor one_hot_targets(const Tensor& targets, int64_t classes, const char* op) {
  const int64_t rows = targets.dim(0);
  if (targets.rank() == 2) {
    check(targets.dim(1) == classes, op, "targets ", targets.shape(), " do not match ", classes, " classes");
    return targets;
  }
  check(targets.rank() == 1, op, "targets must be (N, C) rows or (N,) class indices, got ", targets.shape());
  std::vector<double> indices = targets.to_vector<double>();
  std::vector<double> rows_out(static_cast<size_t>(rows * classes), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const double k = indices[static_cast<size_t>(r)];
    check(k >= 0 && k < static_cast<double>(classes) && k == std::floor(k), op, "class index ", k, " in row ", r,
          " is not an integer in [0, ", classes, ")");
    rows_out[static_cast<size_t>(r * classes + static_cast<int64_t>(k))] = 1.0;
  }
  return Tensor::from<double>({rows, classes}, rows_out).to(targets.dtype()).to(targets.device());
}

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& targets) {
  detail::check_compatible("softmax_cross_entropy", {&logits, &targets});
  check(logits.rank() == 2 && logits.dim(0) > 0, "softmax_cross_entropy", "logits must be (N, C) with N > 0, got ",
        logits.shape());
  check(targets.rank() >= 1 && targets.dim(0) == logits.dim(0), "softmax_cross_entropy", "targets ",
        targets.shape(), " do not match logits ", logits.shape(), " in the batch axis");
  const int64_t rows = logits.dim(0), classes = logits.dim(1);
  Tensor target_rows = one_hot_targets(targets, classes, "softmax_cross_entropy");
  Tensor probs = Tensor::empty_like(logits);
  Tensor row_loss = Tensor::empty({rows}, logits.dtype(), logits.device());
  TIMBRE_WITH_DTYPE(logits.dtype(),
                    TIMBRE_DISPATCH(logits.device(), softmax_cross_entropy_forward, rows, classes, logits.data<T>(),
                                    target_rows.data<T>(), probs.data<T>(), row_loss.data<T>()));
  double total = 0;
  for (double l : row_loss.to_vector<double>()) total += l;
  Tensor loss = Tensor::full(Shape{}, total / static_cast<double>(rows), logits.dtype(), logits.device());
  autograd::record(loss, detail::node_name(kernels::Op::softmax_cross_entropy), {logits},
                   [=](const Tensor& gy, const std::vector<Tensor>& gx) {
                     const double scale = gy.item<double>() / static_cast<double>(rows);
                     TIMBRE_WITH_DTYPE(logits.dtype(),
                                       TIMBRE_DISPATCH(logits.device(), softmax_cross_entropy_backward, rows, classes,
                                                       probs.data<T>(), target_rows.data<T>(), T(scale),
                                                       gx[0].data<T>()));
                   });
  return loss;
}

double accuracy(const Tensor& logits, const Tensor& targets) {
  check(logits.rank() == 2 && targets.rank() >= 1 && targets.dim(0) == logits.dim(0), "accuracy",
        "expected logits (N, C) and targets (N, C) or (N,), got ", logits.shape(), " and ", targets.shape());
  const int64_t rows = logits.dim(0), classes = logits.dim(1);
  if (rows == 0) return 0.0;
  const std::vector<double> z = logits.to_vector<double>();
  const std::vector<double> t = one_hot_targets(targets, classes, "accuracy").to_vector<double>();
  int64_t correct = 0;
  for (int64_t r = 0; r < rows; ++r) {
    auto row = [&](const std::vector<double>& v) { return v.begin() + r * classes; };
    correct += std::max_element(row(z), row(z) + classes) - row(z) == std::max_element(row(t), row(t) + classes) - row(t);
  }
  return static_cast<double>(correct) / static_cast<double>(rows);
}

}  // namespace timbre::ops
