// GEMM on the GPU: a shared-memory tiled kernel of our own (cuBLAS serves only
// as the yardstick in bench/bench_cuda.cpp). Each 256-thread block computes a
// 64x64 tile of C, stepping through k in slices of 16 staged in shared memory;
// each thread accumulates a 4x4 micro-tile strided by 16 rows/columns, so its
// shared-memory reads are broadcast or consecutive (no bank conflicts) and its
// writes of C are coalesced. Transposes are folded into the tile loads.
#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kMicro = 4;
constexpr int kGemmThreads = (kTileM / kMicro) * (kTileN / kMicro);  // 256

template <class T, bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kGemmThreads)
    gemm_kernel(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b, int64_t ldb, T beta,
                T* c, int64_t ldc) {
  __shared__ T a_tile[kTileK][kTileM + 1];  // a_tile[p][i] = op(A)(row0 + i, p0 + p)
  __shared__ T b_tile[kTileK][kTileN + 1];  // b_tile[p][j] = op(B)(p0 + p, col0 + j)
  const int tid = threadIdx.x, tx = tid % (kTileN / kMicro), ty = tid / (kTileN / kMicro);
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kTileM, col0 = static_cast<int64_t>(blockIdx.y) * kTileN;
  T acc[kMicro][kMicro] = {};
  for (int64_t p0 = 0; p0 < k; p0 += kTileK) {
    // Consecutive threads load consecutive addresses of A and B in either layout.
    for (int e = tid; e < kTileM * kTileK; e += kGemmThreads) {
      const int i = kTransA ? e % kTileM : e / kTileK, p = kTransA ? e / kTileM : e % kTileK;
      const int64_t gi = row0 + i, gp = p0 + p;
      a_tile[p][i] = gi < m && gp < k ? (kTransA ? a[gp * lda + gi] : a[gi * lda + gp]) : T(0);
    }
    for (int e = tid; e < kTileK * kTileN; e += kGemmThreads) {
      const int j = kTransB ? e / kTileK : e % kTileN, p = kTransB ? e % kTileK : e / kTileN;
      const int64_t gj = col0 + j, gp = p0 + p;
      b_tile[p][j] = gj < n && gp < k ? (kTransB ? b[gj * ldb + gp] : b[gp * ldb + gj]) : T(0);
    }
    __syncthreads();
#pragma unroll
    for (int p = 0; p < kTileK; ++p) {
      T a_frag[kMicro], b_frag[kMicro];
#pragma unroll
      for (int r = 0; r < kMicro; ++r) a_frag[r] = a_tile[p][ty + r * (kTileM / kMicro)];
#pragma unroll
      for (int s = 0; s < kMicro; ++s) b_frag[s] = b_tile[p][tx + s * (kTileN / kMicro)];
#pragma unroll
      for (int r = 0; r < kMicro; ++r)
#pragma unroll
        for (int s = 0; s < kMicro; ++s) acc[r][s] += a_frag[r] * b_frag[s];
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < kMicro; ++r) {
    const int64_t gi = row0 + ty + r * (kTileM / kMicro);
    if (gi >= m) continue;
#pragma unroll
    for (int s = 0; s < kMicro; ++s) {
      const int64_t gj = col0 + tx + s * (kTileN / kMicro);
      if (gj >= n) continue;
      T& out = c[gi * ldc + gj];
      // beta 0 ignores C, so garbage (NaN) there cannot leak in.
      out = beta == T(0) ? alpha * acc[r][s] : alpha * acc[r][s] + beta * out;
    }
  }
}

template <class T, bool kTransA, bool kTransB>
void gemm_launch(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b, int64_t ldb, T beta,
                 T* c, int64_t ldc) {
  const int64_t col_tiles = (n + kTileN - 1) / kTileN;
  check(col_tiles <= 65535, "gemm", "n = ", n, " columns exceed the grid's limit of ", 65535 * kTileN);
  const dim3 grid(static_cast<unsigned>((m + kTileM - 1) / kTileM), static_cast<unsigned>(col_tiles));
  launch("gemm", gemm_kernel<T, kTransA, kTransB>, grid, kGemmThreads, 0, m, n, k, alpha, a, lda, b, ldb, beta, c,
         ldc);
}
}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (alpha == T(0)) k = 0;  // C = beta * C, without reading A and B (as the CPU twin)
  if (!trans_a && !trans_b)
    gemm_launch<T, false, false>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else if (trans_a && !trans_b)
    gemm_launch<T, true, false>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else if (!trans_a && trans_b)
    gemm_launch<T, false, true>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    gemm_launch<T, true, true>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

TIMBRE_INSTANTIATE_KERNEL(gemm)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
