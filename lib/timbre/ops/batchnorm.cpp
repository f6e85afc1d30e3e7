#include "timbre/ops/batchnorm.h"

#include <cmath>

#include "timbre/ops/fusion.h"
#include "timbre/ops/op_support.h"

namespace timbre::ops {

namespace {
// The checks batchnorm and batchnorm_pool share (x's rank is checked first).
void check_parameters(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                      const Tensor& moving_mean, const Tensor& moving_variance, const BatchNormOptions& o) {
  detail::check_compatible(op, {&x, &gamma, &beta, &moving_mean, &moving_variance});
  const int64_t C = x.dim(-1);
  for (const Tensor* t : {&gamma, &beta, &moving_mean, &moving_variance})
    check(t->shape() == Shape{C}, op, "statistics and scales must be (", C, ",) for input ", x.shape(), ", got ",
          t->shape());
  check(o.epsilon > 0 && o.momentum >= 0 && o.momentum <= 1, op,
        "epsilon must be > 0 and momentum in [0, 1], got epsilon ", o.epsilon, " momentum ", o.momentum);
}
}  // namespace

Tensor batchnorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                 const Tensor& moving_variance, bool training, const BatchNormOptions& o) {
  check(x.rank() >= 2, "batchnorm", "input must have a batch and a channel axis, got ", x.shape());
  check_parameters("batchnorm", x, gamma, beta, moving_mean, moving_variance, o);
  const int64_t C = x.dim(-1);
  const kernels::BatchNormGeometry g{x.numel() / C, C};
  check(!training || g.rows > 0, "batchnorm", "cannot compute batch statistics of an empty batch");
  Tensor y = Tensor::empty_like(x);
  if (!training) {
    TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), batchnorm_forward_infer, g, T(o.epsilon), x.data<T>(),
                                                 gamma.data<T>(), beta.data<T>(), moving_mean.data<T>(),
                                                 moving_variance.data<T>(), y.data<T>()));
    autograd::record(y, detail::node_name(kernels::Op::batchnorm), {x, gamma, beta},
                     [=](const Tensor& gy, const std::vector<Tensor>& gr) {
                       TIMBRE_WITH_DTYPE(
                           x.dtype(),
                           TIMBRE_DISPATCH(x.device(), batchnorm_backward_infer, g, T(o.epsilon), x.data<T>(),
                                           gamma.data<T>(), moving_mean.data<T>(), moving_variance.data<T>(),
                                           gy.data<T>(), detail::data_or_null<T>(gr[0]), detail::data_or_null<T>(gr[1]),
                                           detail::data_or_null<T>(gr[2])));
                     });
    return y;
  }
  Tensor mean = Tensor::empty({C}, x.dtype(), x.device());
  Tensor inv_std = Tensor::empty({C}, x.dtype(), x.device());
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), batchnorm_forward_train, g, T(o.epsilon), T(o.momentum),
                                               x.data<T>(), gamma.data<T>(), beta.data<T>(), y.data<T>(),
                                               mean.data<T>(), inv_std.data<T>(), moving_mean.data<T>(),
                                               moving_variance.data<T>()));
  autograd::record(
      y, detail::node_name(kernels::Op::batchnorm), {x, gamma, beta},
      [=](const Tensor& gy, const std::vector<Tensor>& gr) {
        TIMBRE_WITH_DTYPE(
            x.dtype(), TIMBRE_DISPATCH(x.device(), batchnorm_backward_train, g, x.data<T>(), gamma.data<T>(),
                                       mean.data<T>(), inv_std.data<T>(), gy.data<T>(), detail::data_or_null<T>(gr[0]),
                                       detail::data_or_null<T>(gr[1]), detail::data_or_null<T>(gr[2])));
      });
  return y;
}

Tensor sync_batchnorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                      const Tensor& moving_variance, const SumAcrossProcesses& sum_across, const BatchNormOptions& o) {
  check(x.rank() >= 2, "sync_batchnorm", "input must have a batch and a channel axis, got ", x.shape());
  check_parameters("sync_batchnorm", x, gamma, beta, moving_mean, moving_variance, o);
  const int64_t C = x.dim(-1);
  const kernels::BatchNormGeometry g{x.numel() / C, C};
  const auto summed = [&](Tensor t) {
    sum_across(t);
    return t;
  };
  // The row count travels in float64 whatever x's dtype: exact up to 2^53 rows.
  const Tensor rows = summed(Tensor::from<double>({1}, {static_cast<double>(g.rows)}).to(x.device()));
  const auto count = static_cast<int64_t>(std::llround(rows.to_vector<double>()[0]));
  check(count > 0, "sync_batchnorm", "cannot compute batch statistics of an empty batch (on every process)");
  Tensor y = Tensor::empty_like(x), center = Tensor::empty({C}, x.dtype(), x.device());
  Tensor mean = Tensor::empty({C}, x.dtype(), x.device()), inv_std = Tensor::empty({C}, x.dtype(), x.device());
  TIMBRE_WITH_DTYPE(x.dtype(), {
    // The moments around zero give the mean to centre the second pass on, which gives the variance.
    const auto moments_around = [&](const T* at) {
      Tensor sums = Tensor::empty({2 * C}, x.dtype(), x.device());
      TIMBRE_DISPATCH(x.device(), sync_batchnorm_moments, g, x.data<T>(), at, sums.data<T>());
      return summed(sums);
    };
    const Tensor first = moments_around(nullptr);
    TIMBRE_DISPATCH(x.device(), sync_batchnorm_statistics, C, count, T(o.epsilon), T(o.momentum),
                    static_cast<const T*>(nullptr), first.data<T>(), center.data<T>(), static_cast<T*>(nullptr),
                    static_cast<T*>(nullptr), static_cast<T*>(nullptr));
    const Tensor second = moments_around(center.data<T>());
    TIMBRE_DISPATCH(x.device(), sync_batchnorm_statistics, C, count, T(o.epsilon), T(o.momentum), center.data<T>(),
                    second.data<T>(), mean.data<T>(), inv_std.data<T>(), moving_mean.data<T>(),
                    moving_variance.data<T>());
    TIMBRE_DISPATCH(x.device(), sync_batchnorm_apply, g, x.data<T>(), gamma.data<T>(), beta.data<T>(), mean.data<T>(),
                    inv_std.data<T>(), y.data<T>());
  });
  autograd::record(
      y, detail::node_name(kernels::Op::sync_batchnorm), {x, gamma, beta},
      [=](const Tensor& gy, const std::vector<Tensor>& gr) {
        const Tensor sums = Tensor::empty({2 * C}, x.dtype(), x.device());
        TIMBRE_WITH_DTYPE(x.dtype(), {
          TIMBRE_DISPATCH(x.device(), sync_batchnorm_gradient_sums, g, x.data<T>(), mean.data<T>(), inv_std.data<T>(),
                          gy.data<T>(), sums.data<T>(), detail::data_or_null<T>(gr[1]), detail::data_or_null<T>(gr[2]));
          // Every process's loss depends on every process's rows through the shared statistics.
          sum_across(sums);
          if (gr[0].defined())
            TIMBRE_DISPATCH(x.device(), sync_batchnorm_backward, g, count, x.data<T>(), gamma.data<T>(), mean.data<T>(),
                            inv_std.data<T>(), sums.data<T>(), gy.data<T>(), gr[0].data<T>());
        });
      });
  return y;
}

Tensor batchnorm_pool(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                      const Tensor& moving_variance, const BatchNormOptions& o, double negative_slope,
                      const Pool2dOptions& pool) {
  check(x.rank() == 4, "batchnorm_pool", "input must be (N, H, W, C), got ", x.shape());
  check_parameters("batchnorm_pool", x, gamma, beta, moving_mean, moving_variance, o);
  check(kernels::fusion_defined(kernels::Op::batchnorm_pool, norm_pool_fusion(0, negative_slope, pool)),
        "batchnorm_pool", "expected negative_slope in [0, 1] and pool strides equal to the pool, got negative_slope ",
        negative_slope, ", pool (", pool.pool_h, ", ", pool.pool_w, ") with strides (", pool.stride_h, ", ",
        pool.stride_w, ")");
  const int64_t C = x.dim(3);
  const kernels::Pool2dGeometry g{x.dim(0), x.dim(1), x.dim(2), C, x.dim(1) / pool.pool_h, x.dim(2) / pool.pool_w,
                                  pool.pool_h, pool.pool_w, pool.pool_h, pool.pool_w};
  check(g.batch > 0 && g.out_h >= 1 && g.out_w >= 1, "batchnorm_pool", "input ", x.shape(),
        " must hold a sample and be no smaller than the pool (", pool.pool_h, ", ", pool.pool_w, ")");
  Tensor y = Tensor::empty({g.batch, g.out_h, g.out_w, C}, x.dtype(), x.device());
  Tensor mean = Tensor::empty({C}, x.dtype(), x.device()), inv_std = Tensor::empty({C}, x.dtype(), x.device());
  const bool differentiable = autograd::grad_enabled() && autograd::any_requires_grad({x, gamma, beta});
  const Tensor argmax = differentiable ? Tensor::empty(y.shape(), x.dtype(), x.device()) : Tensor();
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), batchnorm_pool_forward_train, g, T(o.epsilon), T(o.momentum),
                                               T(negative_slope), x.data<T>(), gamma.data<T>(), beta.data<T>(),
                                               y.data<T>(), detail::data_or_null<T>(argmax), mean.data<T>(),
                                               inv_std.data<T>(), moving_mean.data<T>(), moving_variance.data<T>()));
  autograd::record(y, detail::node_name(kernels::Op::batchnorm_pool), {x, gamma, beta},
                   [=, y = y.detach()](const Tensor& gy, const std::vector<Tensor>& gr) {
                     TIMBRE_WITH_DTYPE(
                         x.dtype(),
                         TIMBRE_DISPATCH(x.device(), batchnorm_pool_backward_train, g, T(negative_slope), x.data<T>(),
                                         gamma.data<T>(), mean.data<T>(), inv_std.data<T>(), y.data<T>(),
                                         argmax.data<T>(), gy.data<T>(), detail::data_or_null<T>(gr[0]),
                                         detail::data_or_null<T>(gr[1]), detail::data_or_null<T>(gr[2])));
                   });
  return y;
}

FoldedConv fold_batchnorm(const Tensor& kernel, const Tensor& bias, const Tensor& gamma, const Tensor& beta,
                          const Tensor& moving_mean, const Tensor& moving_variance, double epsilon) {
  check(kernel.rank() >= 1, "fold_batchnorm", "kernel must have an output-channel axis, got a scalar");
  const int64_t C = kernel.dim(-1);
  for (const Tensor* t : {&gamma, &beta, &moving_mean, &moving_variance})
    check(t->shape() == Shape{C}, "fold_batchnorm", "statistics and scales must be (", C, ",) for kernel ",
          kernel.shape(), ", got ", t->shape());
  check(!bias.defined() || bias.shape() == Shape{C}, "fold_batchnorm", "bias must be (", C, ",), got ",
        bias.defined() ? bias.shape().str() : "");
  check(epsilon > 0, "fold_batchnorm", "epsilon must be > 0, got ", epsilon);
  std::vector<double> k = kernel.to_vector<double>(), b = bias.defined() ? bias.to_vector<double>()
                                                                         : std::vector<double>(static_cast<size_t>(C));
  const std::vector<double> g = gamma.to_vector<double>(), be = beta.to_vector<double>(),
                            mean = moving_mean.to_vector<double>(), var = moving_variance.to_vector<double>();
  for (int64_t c = 0; c < C; ++c) {
    const double scale = g[c] / std::sqrt(var[c] + epsilon);
    for (size_t i = static_cast<size_t>(c); i < k.size(); i += static_cast<size_t>(C)) k[i] *= scale;
    b[c] = (b[c] - mean[c]) * scale + be[c];
  }
  const auto place = [&](const Shape& shape, const std::vector<double>& v) {
    return Tensor::from<double>(shape, v).to(kernel.dtype()).to(kernel.device());
  };
  return {place(kernel.shape(), k), place({C}, b)};
}

}  // namespace timbre::ops
