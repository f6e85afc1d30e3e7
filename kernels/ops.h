// The op table (kernels/ops.def) as C++: the Op enumeration, one record per op,
// and what each backend supports. Light on purpose (no kernel code): the ops,
// nn's fusion, the test driver and the coverage test include it.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "kernels/geometry.h"
#include "timbre/core/device.h"

namespace timbre::kernels {

enum class Op {
#define TIMBRE_OP(op, kind, ...) op,
#include "kernels/ops.def"
#undef TIMBRE_OP
};

enum class OpKind { differentiable, plain };

struct OpRecord {
  Op op;
  std::string_view name;
  OpKind kind;
  std::string_view kernels;  // "dense_forward, dense_backward", as the table lists them
};

inline constexpr std::array kOpTable = {
#define TIMBRE_OP(op, kind, ...) OpRecord{Op::op, #op, OpKind::kind, #__VA_ARGS__},
#include "kernels/ops.def"
#undef TIMBRE_OP
};
// One line per kernel family of kernels/kernels.h; a family added there and not
// here (or the reverse) fails tests/test_op_table.cpp, a changed count this.
static_assert(kOpTable.size() == 23, "kernels/ops.def changed: update this count and tests/op_driver");

constexpr const OpRecord& op_record(Op op) { return kOpTable[static_cast<size_t>(op)]; }
constexpr std::string_view op_name(Op op) { return op_record(op).name; }

// What decides whether a fused op (conv2d_pool, batchnorm_pool) can run: the
// convolution (zero for batchnorm_pool: only its channels are read), the pooling
// after it, and the LeakyReLU's negative slope between them (1: no activation).
struct FusionGeometry {
  Conv2dGeometry conv{};
  Pool2dGeometry pool{};
  double negative_slope = 1;
};

// What the fused kernels' definitions require on every backend: a stride-1
// convolution (conv2d_pool), a negative slope in [0, 1] and pool strides equal to
// the pool. Each backend's supports() adds its own limits to this.
constexpr bool fusion_defined(Op op, const FusionGeometry& g) {
  const bool pool_tiles =
      g.pool.pool_h >= 1 && g.pool.pool_w >= 1 && g.pool.stride_h == g.pool.pool_h && g.pool.stride_w == g.pool.pool_w;
  const bool slope_ok = g.negative_slope >= 0 && g.negative_slope <= 1;
  if (op == Op::batchnorm_pool) return pool_tiles && slope_ok;
  if (op == Op::conv2d_pool) return pool_tiles && slope_ok && g.conv.stride_h == 1 && g.conv.stride_w == 1;
  return true;
}

// Whether `device`'s backend runs `op` for this geometry (kernels::cpu::supports
// or kernels::cuda::supports). Callers fall back to the unfused ops when not.
bool supports(Op op, const Device& device, const FusionGeometry& g);

}  // namespace timbre::kernels
