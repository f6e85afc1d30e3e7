// Dense on the GPU: the bias broadcast into y, then y += x.w with our GEMM;
// backward is two GEMMs and the column sums of gy.
#include "kernels/cuda/columns.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
__global__ void broadcast_rows_kernel(int64_t rows, int64_t cols, const T* row, T* y) {
  TIMBRE_GRID_STRIDE_LOOP(i, rows * cols) y[i] = row ? row[i % cols] : T(0);
}

template <class T>
struct ColumnValue {
  const T* x;
  int64_t cols;
  __device__ void operator()(int64_t r, int64_t c, double* v) const { v[0] = x[r * cols + c]; }
};

template <class T>
__global__ void add_sums_kernel(int64_t cols, const double* sums, T* out) {
  TIMBRE_GRID_STRIDE_LOOP(c, cols) out[c] += static_cast<T>(sums[c]);
}
}  // namespace

template <class T>
void broadcast_rows(int64_t rows, int64_t cols, const T* row, T* y) {
  launch("broadcast_rows", broadcast_rows_kernel<T>, blocks_for(rows * cols), kThreads, 0, rows, cols, row, y);
}

template <class T>
void add_column_sums(int64_t rows, int64_t cols, const T* x, T* out) {
  if (cols == 0) return;
  Workspace<double> sums(cols);
  column_sums<1>("add_column_sums", rows, cols, ColumnValue<T>{x, cols}, sums.data());
  launch("add_column_sums", add_sums_kernel<T>, blocks_for(cols), kThreads, 0, cols,
         static_cast<const double*>(sums.data()), out);
}

template <class T>
void dense_forward(int64_t rows, int64_t in, int64_t out, const T* x, const T* w, const T* b, T* y) {
  broadcast_rows(rows, out, b, y);
  gemm<T>(false, false, rows, out, in, T(1), x, in, w, out, T(1), y, out);
}

template <class T>
void dense_backward(int64_t rows, int64_t in, int64_t out, const T* x, const T* w, const T* gy, T* gx, T* gw,
                    T* gb) {
  if (gx) gemm<T>(false, true, rows, in, out, T(1), gy, out, w, out, T(1), gx, in);  // gx += gy.w^T
  if (gw) gemm<T>(true, false, in, out, rows, T(1), x, in, gy, out, T(1), gw, out);  // gw += x^T.gy
  if (gb) add_column_sums(rows, out, gy, gb);
}

template void broadcast_rows<float>(int64_t, int64_t, const float*, float*);
template void broadcast_rows<double>(int64_t, int64_t, const double*, double*);
template void add_column_sums<float>(int64_t, int64_t, const float*, float*);
template void add_column_sums<double>(int64_t, int64_t, const double*, double*);
TIMBRE_INSTANTIATE_KERNEL(dense_forward)
TIMBRE_INSTANTIATE_KERNEL(dense_backward)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
