// Shared by the kernels that route a gradient to a saved window position
// (maxpool2d, conv2d_pool, batchnorm_pool): position p = dy * pool_w + dx.
#pragma once

#include <cstdint>
#include <vector>

namespace timbre::kernels::cpu {

// Each window position's offset from the window's corner, for rows `row_stride`
// and columns `column_stride` elements apart, so the hot loops divide nothing.
inline std::vector<int64_t> window_offsets(int64_t pool_h, int64_t pool_w, int64_t row_stride,
                                           int64_t column_stride) {
  std::vector<int64_t> offset(static_cast<size_t>(pool_h * pool_w));
  for (int64_t p = 0; p < pool_h * pool_w; ++p) offset[p] = (p / pool_w) * row_stride + (p % pool_w) * column_stride;
  return offset;
}

}  // namespace timbre::kernels::cpu
