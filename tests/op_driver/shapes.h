// Buffer sizes and labels of the kernels' geometries, shared by the cases.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/geometry.h"

namespace timbre::testing::op_driver {

inline int64_t input_size(const kernels::Conv2dGeometry& g) { return g.batch * g.in_h * g.in_w * g.in_c; }
inline int64_t kernel_size(const kernels::Conv2dGeometry& g) { return g.kernel_h * g.kernel_w * g.in_c * g.out_c; }
inline int64_t output_size(const kernels::Conv2dGeometry& g) { return g.batch * g.out_h * g.out_w * g.out_c; }
inline int64_t input_size(const kernels::Pool2dGeometry& g) { return g.batch * g.in_h * g.in_w * g.channels; }
inline int64_t output_size(const kernels::Pool2dGeometry& g) { return g.batch * g.out_h * g.out_w * g.channels; }

inline std::string label(const kernels::Conv2dGeometry& g) {
  const auto s = [](int64_t v) { return std::to_string(v); };
  return s(g.batch) + "x" + s(g.in_h) + "x" + s(g.in_w) + "x" + s(g.in_c) + " kernel " + s(g.kernel_h) + "x" +
         s(g.kernel_w) + "x" + s(g.out_c) + " stride " + s(g.stride_h) + "x" + s(g.stride_w) + " pad " + s(g.pad_top) +
         "," + s(g.pad_left) + " out " + s(g.out_h) + "x" + s(g.out_w);
}

inline std::string label(const kernels::Pool2dGeometry& g) {
  const auto s = [](int64_t v) { return std::to_string(v); };
  return s(g.batch) + "x" + s(g.in_h) + "x" + s(g.in_w) + "x" + s(g.channels) + " pool " + s(g.pool_h) + "x" +
         s(g.pool_w) + " stride " + s(g.stride_h) + "x" + s(g.stride_w);
}

inline std::string label(const kernels::BatchNormGeometry& g) {
  return std::to_string(g.rows) + " rows x " + std::to_string(g.channels) + " channels";
}

// The seed models' batch, and a convolution of theirs (bench/seed_shapes.h lists them).
inline constexpr int64_t kSeedBatch = 128;
inline kernels::Conv2dGeometry seed_conv(int64_t batch, int64_t h, int64_t w, int64_t cin, int64_t k, int64_t cout,
                                         bool same) {
  kernels::Conv2dGeometry g{batch, h, w, cin, same ? h : h - k + 1,   same ? w : w - k + 1,  cout,
                            k,     k, 1, 1,   same ? (k - 1) / 2 : 0, same ? (k - 1) / 2 : 0};
  return g;
}

}  // namespace timbre::testing::op_driver
