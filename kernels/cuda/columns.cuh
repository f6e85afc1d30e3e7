// Column operations of (rows, cols) matrices shared by Dense, Conv2D and BatchNorm.
//
// Per-column sums of a matrix of terms, in double and in a fixed
// order (so results do not vary from run to run): blocks of 32 columns x 8
// row lanes sum strided rows, a shared-memory step folds the 8 lanes, and a
// second kernel adds the per-chunk partials. Dense and Conv2D use it for the
// bias gradient, BatchNorm for its channel statistics.
#pragma once

#include "kernels/cuda/runtime.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace reduce_detail {
constexpr int kColumns = 32, kRowLanes = 8;
constexpr int64_t kMaxChunks = 256;

// partial[(chunk*K + k)*cols + c] = sum over this chunk's rows r of term(r, c, v)[k].
template <int K, class Term>
__global__ void __launch_bounds__(kColumns* kRowLanes)
    column_partial_sums_kernel(int64_t rows, int64_t cols, Term term, double* partial) {
  __shared__ double lanes[K][kRowLanes][kColumns];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColumns + threadIdx.x;
  double acc[K] = {};
  if (c < cols)
    for (int64_t r = static_cast<int64_t>(blockIdx.y) * kRowLanes + threadIdx.y; r < rows;
         r += static_cast<int64_t>(kRowLanes) * gridDim.y) {
      double v[K];
      term(r, c, v);
      for (int k = 0; k < K; ++k) acc[k] += v[k];
    }
  for (int k = 0; k < K; ++k) lanes[k][threadIdx.y][threadIdx.x] = acc[k];
  __syncthreads();
  if (threadIdx.y == 0 && c < cols)
    for (int k = 0; k < K; ++k) {
      double s = 0;
      for (int lane = 0; lane < kRowLanes; ++lane) s += lanes[k][lane][threadIdx.x];
      partial[(static_cast<int64_t>(blockIdx.y) * K + k) * cols + c] = s;
    }
}

template <int K>
__global__ void column_finish_kernel(int64_t cols, int64_t chunks, const double* partial, double* sums) {
  TIMBRE_GRID_STRIDE_LOOP(i, K * cols) {
    const int64_t k = i / cols, c = i % cols;
    double s = 0;
    for (int64_t chunk = 0; chunk < chunks; ++chunk) s += partial[(chunk * K + k) * cols + c];
    sums[i] = s;
  }
}
}  // namespace reduce_detail

// sums[k*cols + c] = sum over r < rows of term(r, c, v)[k], where term is a
// device functor filling v[0..K). `sums` is device memory of K*cols doubles.
template <int K, class Term>
void column_sums(const char* name, int64_t rows, int64_t cols, Term term, double* sums) {
  using namespace reduce_detail;
  const int64_t chunks = std::clamp<int64_t>(rows / (kRowLanes * 64), 1, kMaxChunks);
  Workspace<double> partial(chunks * K * cols);
  const dim3 grid(static_cast<unsigned>((cols + kColumns - 1) / kColumns), static_cast<unsigned>(chunks));
  launch(name, column_partial_sums_kernel<K, Term>, grid, dim3(kColumns, kRowLanes), 0, rows, cols, term,
         partial.data());
  launch(name, column_finish_kernel<K>, blocks_for(K * cols), kThreads, 0, cols, chunks,
         static_cast<const double*>(partial.data()), sums);
}

// Defined in dense.cu:
// out[c] += sum_r x[r, c] for x (rows, cols): the bias gradient of Dense and Conv2D.
template <class T>
void add_column_sums(int64_t rows, int64_t cols, const T* x, T* out);
// y[r, c] = row ? row[c] : 0: the bias that Dense and Conv2D add their GEMM to.
template <class T>
void broadcast_rows(int64_t rows, int64_t cols, const T* row, T* y);

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
