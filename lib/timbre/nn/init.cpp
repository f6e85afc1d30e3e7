#include "timbre/nn/init.h"

#include <Eigen/QR>
#include <cmath>

namespace timbre::nn::init {

Tensor glorot_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out, Generator& g) {
  const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  std::vector<double> v(static_cast<size_t>(shape.numel()));
  for (double& x : v) x = g.uniform(-limit, limit);
  return Tensor::from<double>(shape, v).to(DType::f32);
}

Tensor orthogonal(const Shape& shape, Generator& g) {
  check(shape.rank() >= 2, "orthogonal", "needs a shape of rank >= 2, got ", shape);
  const int64_t cols = shape[-1], rows = shape.numel() / cols;
  // As Keras: QR of a (max, min) Gaussian matrix, signs fixed by diag(R), transposed when rows < cols.
  const int64_t big = std::max(rows, cols), small = std::min(rows, cols);
  Eigen::MatrixXd a(big, small);
  for (int64_t i = 0; i < big; ++i)
    for (int64_t j = 0; j < small; ++j) a(i, j) = g.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(big, small);
  const Eigen::MatrixXd r = qr.matrixQR().topRows(small).triangularView<Eigen::Upper>();
  for (int64_t j = 0; j < small; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;
  if (rows < cols) q.transposeInPlace();
  std::vector<double> v(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) v[static_cast<size_t>(i * cols + j)] = q(i, j);
  return Tensor::from<double>(shape, v).to(DType::f32);
}

Tensor zeros(const Shape& shape) { return Tensor::zeros(shape); }
Tensor ones(const Shape& shape) { return Tensor::ones(shape); }

}  // namespace timbre::nn::init
