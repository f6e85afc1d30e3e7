#include "timbre/dist/sync_batchnorm.h"

#include <cmath>
#include <vector>

#include "timbre/autograd/node.h"

namespace timbre::dist {

namespace {

// Channel sums over the rows of a (rows, C) matrix, in double; term(r, c, v) writes K values.
template <int K, class Term>
std::vector<double> channel_sums(int64_t rows, int64_t C, Term term) {
  std::vector<double> sums(static_cast<size_t>(K * C), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) {
      double v[K];
      term(r, c, v);
      for (int k = 0; k < K; ++k) sums[static_cast<size_t>(k * C + c)] += v[k];
    }
  return sums;
}

}  // namespace

Tensor sync_batchnorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                      const Tensor& moving_variance, bool training, Communicator& comm,
                      const ops::BatchNormOptions& o) {
  if (!training) return ops::batchnorm(x, gamma, beta, moving_mean, moving_variance, false, o);
  const char* where = "dist::sync_batchnorm";
  check(x.device().is_cpu(), where, "CPU tensors only, got one on ", x.device().str());
  check(x.rank() >= 2, where, "input must have a batch and a channel axis, got ", x.shape());
  const int64_t C = x.dim(-1), rows = x.numel() / C;
  for (const Tensor* t : {&gamma, &beta, &moving_mean, &moving_variance}) {
    check(t->shape() == Shape{C} && t->dtype() == x.dtype() && t->device() == x.device(), where,
          "statistics and scales must be (", C, ",) ", dtype_name(x.dtype()), " for input ", x.shape(), ", got ",
          t->shape(), " ", dtype_name(t->dtype()));
  }
  check(o.epsilon > 0 && o.momentum >= 0 && o.momentum <= 1, where,
        "epsilon must be > 0 and momentum in [0, 1], got epsilon ", o.epsilon, " momentum ", o.momentum);

  Tensor y = Tensor::empty_like(x);
  Tensor mean = Tensor::empty({C}, DType::f64), inv_std = Tensor::empty({C}, DType::f64);
  double count = 0;
  visit_dtype(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* xv = x.data<T>();
    // Global sums, then the variance around the global mean (two passes: no cancellation).
    std::vector<double> sums = channel_sums<1>(rows, C, [&](int64_t r, int64_t c, double* v) { v[0] = xv[r * C + c]; });
    sums.push_back(static_cast<double>(rows));
    sums = comm.all_reduce(std::move(sums), ReduceOp::sum);
    count = sums[static_cast<size_t>(C)];
    check(count > 0, where, "cannot compute batch statistics of an empty batch (on every rank)");
    double* mu = mean.data<double>();
    for (int64_t c = 0; c < C; ++c) mu[c] = sums[static_cast<size_t>(c)] / count;
    std::vector<double> squares = channel_sums<1>(rows, C, [&](int64_t r, int64_t c, double* v) {
      const double d = xv[r * C + c] - mu[c];
      v[0] = d * d;
    });
    squares = comm.all_reduce(std::move(squares), ReduceOp::sum);
    double* is = inv_std.data<double>();
    T *mm = moving_mean.data<T>(), *mv = moving_variance.data<T>();
    const T* g = gamma.data<T>();
    const T* b = beta.data<T>();
    const T momentum = static_cast<T>(o.momentum);
    for (int64_t c = 0; c < C; ++c) {
      const double var = squares[static_cast<size_t>(c)] / count;
      is[c] = 1.0 / std::sqrt(var + o.epsilon);
      mm[c] = mm[c] * momentum + static_cast<T>(mu[c]) * (T(1) - momentum);
      mv[c] = mv[c] * momentum + static_cast<T>(var) * (T(1) - momentum);
    }
    T* yv = y.data<T>();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < C; ++c)
        yv[r * C + c] = static_cast<T>((xv[r * C + c] - mu[c]) * is[c] * g[c] + b[c]);
  });

  Communicator* comm_ptr = &comm;
  autograd::record(y, "sync_batchnorm", {x, gamma, beta}, [=](const Tensor& gy, const std::vector<Tensor>& gr) {
    visit_dtype(x.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T *xv = x.data<T>(), *gyv = gy.data<T>(), *g = gamma.data<T>();
      const double *mu = mean.data<double>(), *is = inv_std.data<double>();
      std::vector<double> sums = channel_sums<2>(rows, C, [&](int64_t r, int64_t c, double* v) {
        v[0] = gyv[r * C + c];
        v[1] = gyv[r * C + c] * (xv[r * C + c] - mu[c]) * is[c];
      });
      // This rank's share for gamma and beta; the global sums for the input's gradient (every rank's loss
      // depends on every rank's rows through the shared statistics).
      if (gr[2].defined())
        for (int64_t c = 0; c < C; ++c) gr[2].data<T>()[c] += static_cast<T>(sums[static_cast<size_t>(c)]);
      if (gr[1].defined())
        for (int64_t c = 0; c < C; ++c) gr[1].data<T>()[c] += static_cast<T>(sums[static_cast<size_t>(C + c)]);
      sums = comm_ptr->all_reduce(std::move(sums), ReduceOp::sum);
      if (!gr[0].defined()) return;
      T* gx = gr[0].data<T>();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < C; ++c) {
          const double xhat = (xv[r * C + c] - mu[c]) * is[c];
          gx[r * C + c] += static_cast<T>(g[c] * is[c] *
                                          (gyv[r * C + c] - sums[static_cast<size_t>(c)] / count -
                                           xhat * sums[static_cast<size_t>(C + c)] / count));
        }
    });
  });
  return y;
}

}  // namespace timbre::dist
