// What the CUDA backend runs: every op, the fused ones wherever they are
// defined (one thread per pooled output: no channel limit).
#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

bool supports(Op op, const FusionGeometry& g) { return fusion_defined(op, g); }

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
