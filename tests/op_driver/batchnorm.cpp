// Cases of batchnorm, batchnorm_pool and sync_batchnorm (kernels/cpu/batchnorm.cpp,
// kernels/cuda/batchnorm.cu): rows over several reduction chunks, channels over
// two blocks, inputs far from zero as dB features are, tied window maxima, a
// batch split over processes.
#include "op_driver/driver.h"
#include "op_driver/shapes.h"

namespace timbre::testing::op_driver {

using kernels::Op;

namespace {
constexpr double kEps = 1e-3, kMomentum = 0.99;

Case train_case(const kernels::BatchNormGeometry& g) {
  const int64_t n = g.rows * g.channels, C = g.channels;
  Case c{Op::batchnorm, "training, " + label(g)};
  c.in("x", n, uniform(20, 26), "gx").in("gamma", C, uniform(0.5, 1.5), "ggamma").in("beta", C, {}, "gbeta");
  c.inout("moving_mean", C).inout("moving_var", C, uniform(0.5, 2));
  c.out("y", n, "gy").out("mean", C).out("inv_std", C);
  c.forward = calls([g](auto& r) {
    OP_CALL(r, batchnorm_forward_train, g, kEps, kMomentum, r["x"], r["gamma"], r["beta"], r["y"], r["mean"],
            r["inv_std"], r["moving_mean"], r["moving_var"]);
  });
  c.backward = calls([g](auto& r) {
    OP_CALL(r, batchnorm_backward_train, g, r["x"], r["gamma"], r["mean"], r["inv_std"], r["gy"], r["gx"], r["ggamma"],
            r["gbeta"]);
  });
  c.f32_tolerance = 5e-4;  // float statistics of values near 23
  return c;
}

Case infer_case(const kernels::BatchNormGeometry& g) {
  const int64_t n = g.rows * g.channels, C = g.channels;
  Case c{Op::batchnorm, "inference, " + label(g)};
  c.in("x", n, uniform(20, 26), "gx").in("gamma", C, uniform(0.5, 1.5), "ggamma").in("beta", C, {}, "gbeta");
  c.in("moving_mean", C, uniform(20, 26)).in("moving_var", C, uniform(0.5, 2));
  c.out("y", n, "gy");
  c.forward = calls([g](auto& r) {
    OP_CALL(r, batchnorm_forward_infer, g, kEps, r["x"], r["gamma"], r["beta"], r["moving_mean"], r["moving_var"],
            r["y"]);
  });
  c.backward = calls([g](auto& r) {
    OP_CALL(r, batchnorm_backward_infer, g, kEps, r["x"], r["gamma"], r["moving_mean"], r["moving_var"], r["gy"],
            r["gx"], r["ggamma"], r["gbeta"]);
  });
  return c;
}

// sync_batchnorm as ops::sync_batchnorm runs it, for the rows split over
// `parts` processes: each part's sums into "part_sums", added up with axpy as
// the all-reduce would (the first part's straight into "sums").
template <class R, class PartSums>
void sum_over_parts(R& r, const kernels::BatchNormGeometry& g, int parts, PartSums part_sums) {
  for (int p = 0; p < parts; ++p) {
    const int64_t first = g.rows * p / parts, last = g.rows * (p + 1) / parts;
    part_sums(kernels::BatchNormGeometry{last - first, g.channels}, first * g.channels,
              p == 0 ? r["sums"] : r["part_sums"]);
    if (p > 0) OP_CALL(r, axpy, 2 * g.channels, 1, r["part_sums"], r["sums"]);
  }
}

template <class Part>
void each_part(const kernels::BatchNormGeometry& g, int parts, Part part) {
  for (int p = 0; p < parts; ++p) {
    const int64_t first = g.rows * p / parts, last = g.rows * (p + 1) / parts;
    part(kernels::BatchNormGeometry{last - first, g.channels}, first * g.channels);
  }
}

Case sync_case(const kernels::BatchNormGeometry& g, int parts) {
  const int64_t n = g.rows * g.channels, C = g.channels;
  Case c{Op::sync_batchnorm, std::to_string(parts) + " processes, " + label(g)};
  c.in("x", n, uniform(20, 26), "gx").in("gamma", C, uniform(0.5, 1.5), "ggamma").in("beta", C, {}, "gbeta");
  c.inout("moving_mean", C).inout("moving_var", C, uniform(0.5, 2));
  c.out("y", n, "gy").out("mean", C).out("inv_std", C);
  c.scratch("center", C).scratch("sums", 2 * C).scratch("part_sums", 2 * C);
  c.forward = calls([g, parts](auto& r) {
    using T = typename std::decay_t<decltype(r)>::Type;
    const T* no_center = nullptr;
    T* skip = nullptr;
    sum_over_parts(r, g, parts, [&](const kernels::BatchNormGeometry& part, int64_t at, T* sums) {
      OP_CALL(r, sync_batchnorm_moments, part, r["x"] + at, no_center, sums);
    });
    OP_CALL(r, sync_batchnorm_statistics, g.channels, g.rows, kEps, kMomentum, no_center, r["sums"], r["center"], skip,
            skip, skip);
    sum_over_parts(r, g, parts, [&](const kernels::BatchNormGeometry& part, int64_t at, T* sums) {
      OP_CALL(r, sync_batchnorm_moments, part, r["x"] + at, r["center"], sums);
    });
    OP_CALL(r, sync_batchnorm_statistics, g.channels, g.rows, kEps, kMomentum, r["center"], r["sums"], r["mean"],
            r["inv_std"], r["moving_mean"], r["moving_var"]);
    each_part(g, parts, [&](const kernels::BatchNormGeometry& part, int64_t at) {
      OP_CALL(r, sync_batchnorm_apply, part, r["x"] + at, r["gamma"], r["beta"], r["mean"], r["inv_std"], r["y"] + at);
    });
  });
  c.backward = calls([g, parts](auto& r) {
    using T = typename std::decay_t<decltype(r)>::Type;
    sum_over_parts(r, g, parts, [&](const kernels::BatchNormGeometry& part, int64_t at, T* sums) {
      OP_CALL(r, sync_batchnorm_gradient_sums, part, r["x"] + at, r["mean"], r["inv_std"], r["gy"] + at, sums,
              r["ggamma"], r["gbeta"]);
    });
    each_part(g, parts, [&](const kernels::BatchNormGeometry& part, int64_t at) {
      OP_CALL(r, sync_batchnorm_backward, part, g.rows, r["x"] + at, r["gamma"], r["mean"], r["inv_std"], r["sums"],
              r["gy"] + at, r["gx"] + at);
    });
  });
  c.f32_tolerance = 5e-4;  // float statistics of values near 23
  return c;
}

// Which of batchnorm_pool's optional outputs a case asks for: all, or the
// forward without moving statistics and argmax, or backward with gx alone, or
// without gx: null pointers must be skipped.
enum class Outputs { all, forward_only, gx_alone, without_gx };

Case pool_case(const kernels::Pool2dGeometry& g, double slope, bool ties, Outputs outputs) {
  const int64_t C = g.channels, xn = input_size(g), yn = output_size(g);
  const char* what[] = {"", ", no moving statistics or argmax", ", gx alone", ", without gx"};
  Case c{Op::batchnorm_pool, label(g) + " negative_slope " + std::to_string(slope) + (ties ? " ties" : " random") +
                                 what[static_cast<int>(outputs)]};
  const bool gx = outputs != Outputs::without_gx, gparams = outputs == Outputs::all || outputs == Outputs::without_gx;
  // Negative scales too: the window's maximum is then its smallest x.
  c.in("x", xn, ties ? integers(0, 4) : uniform(-2, 3), gx ? "gx" : "");
  c.in("gamma", C, uniform(-1.5, 1.5, 0.5), gparams ? "ggamma" : "").in("beta", C, {}, gparams ? "gbeta" : "");
  c.inout("moving_mean", C).inout("moving_var", C, uniform(0.5, 2));
  c.out("y", yn, "gy").out("argmax", yn).out("mean", C).out("inv_std", C);
  const bool keep = outputs != Outputs::forward_only;
  c.forward = calls([=](auto& r) {
    OP_CALL(r, batchnorm_pool_forward_train, g, kEps, kMomentum, slope, r["x"], r["gamma"], r["beta"], r["y"],
            keep ? r["argmax"] : nullptr, r["mean"], r["inv_std"], keep ? r["moving_mean"] : nullptr,
            keep ? r["moving_var"] : nullptr);
  });
  if (keep)
    c.backward = calls([=](auto& r) {
      OP_CALL(r, batchnorm_pool_backward_train, g, slope, r["x"], r["gamma"], r["mean"], r["inv_std"], r["y"],
              r["argmax"], r["gy"], gx ? r["gx"] : nullptr, gparams ? r["ggamma"] : nullptr,
              gparams ? r["gbeta"] : nullptr);
    });
  c.gradcheck = !ties;
  c.f32_tolerance = 5e-4;
  return c;
}
}  // namespace

std::vector<Case> batchnorm_cases() {
  std::vector<Case> cases;
  for (const kernels::BatchNormGeometry g : {kernels::BatchNormGeometry{1100, 37}, kernels::BatchNormGeometry{13, 5}}) {
    cases.push_back(train_case(g));
    cases.push_back(infer_case(g));
  }
  Case seed = train_case({kSeedBatch * 80 * 80, 8});  // P2's first batch norm
  seed.bench = true;
  seed.emulate = seed.gradcheck = false;
  cases.push_back(seed);
  return cases;
}

std::vector<Case> sync_batchnorm_cases() {
  std::vector<Case> cases;
  for (const kernels::BatchNormGeometry g : {kernels::BatchNormGeometry{1100, 37}, kernels::BatchNormGeometry{13, 5}})
    for (const int parts : {1, 2, 3}) cases.push_back(sync_case(g, parts));
  Case seed = sync_case({kSeedBatch * 80 * 80, 8}, 1);  // P2's first batch norm
  seed.bench = true;
  seed.emulate = seed.gradcheck = false;
  cases.push_back(seed);
  return cases;
}

std::vector<Case> batchnorm_pool_cases() {
  // batch, in_h, in_w, channels, out_h, out_w, pool_h, pool_w, stride_h, stride_w (= pool)
  const kernels::Pool2dGeometry geometries[] = {
      {2, 9, 10, 8, 4, 5, 2, 2, 2, 2},      // a row left over
      {3, 8, 8, 6, 4, 4, 2, 2, 2, 2},       // whole windows
      {2, 7, 9, 3, 2, 4, 3, 2, 3, 2},       // pool 3x2, a row and a column left over
      {3, 26, 25, 37, 13, 12, 2, 2, 2, 2},  // statistics over several reduction chunks, channels over two blocks
  };
  std::vector<Case> cases;
  for (const auto& g : geometries) {
    for (const double slope : {0.0, 0.3, 1.0})
      for (const bool ties : {false, true}) cases.push_back(pool_case(g, slope, ties, Outputs::all));
    for (const Outputs o : {Outputs::forward_only, Outputs::gx_alone, Outputs::without_gx})
      cases.push_back(pool_case(g, 0.3, false, o));
  }
  Case seed = pool_case({kSeedBatch, 80, 80, 8, 40, 40, 2, 2, 2, 2}, 0.3, false, Outputs::all);  // P2's first block
  seed.bench = true;
  seed.emulate = seed.gradcheck = false;
  cases.push_back(seed);
  return cases;
}

}  // namespace timbre::testing::op_driver
