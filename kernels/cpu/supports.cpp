// What the CPU backend runs: every op, and the fused conv2d_pool only for the
// few channels where its direct convolution beats im2col + GEMM (the unfused
// conv2d switches paths at the same count).
#include "kernels/cpu/direct_conv.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

bool supports(Op op, const FusionGeometry& g) {
  if (!fusion_defined(op, g)) return false;
  if (op == Op::conv2d_pool) return g.conv.in_c <= direct::kMaxChannels && g.conv.out_c <= direct::kMaxChannels;
  return true;
}

}  // namespace timbre::kernels::cpu
