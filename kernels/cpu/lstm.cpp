// LSTM on the CPU. Each thread runs the whole recurrence for its own block of
// batch rows (rows never interact, so the time loop needs no barrier). Forward,
// per step: z = bias + x_t . kernel + h . recurrent_kernel through register
// tiles that read the weights in place, then one pass that applies the gates,
// updates the cell and, when a backward follows, saves what it needs. Backward
// mirrors it, per step: the hidden-state gradient (GEMM), the gate gradients
// (one pass), then the step's share of the input and weight gradients (GEMMs)
// while its gate gradients are in cache. x is read where it lies, batch-major.
#include <Eigen/Core>
#include <algorithm>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu/constant.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

namespace {
template <class T>
using ConstVec = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using Vec = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;

// How many blocks of batch rows to run concurrently: one per thread when the
// recurrence is big enough to pay for threads, else one.
int64_t row_blocks(const LstmGeometry& g) {
#ifdef _OPENMP
  const int64_t gate_values = g.batch * g.steps * 4 * g.units;
  if (gate_values >= kElementwiseGrain && !omp_in_parallel())
    return std::min<int64_t>(omp_get_max_threads(), g.batch);
#endif
  (void)g;
  return 1;
}

// Runs fn(block, row_begin, row_end) for each block of rows, concurrently.
template <class Fn>
void for_row_blocks(int64_t batch, int64_t blocks, Fn fn) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) num_threads(static_cast<int>(blocks)) if (blocks > 1)
#endif
  for (int64_t b = 0; b < blocks; ++b) fn(b, batch * b / blocks, batch * (b + 1) / blocks);
}

// The left operand of step_gemm: element (r, p) at data[r * row_stride + p * step_stride],
// so a matrix and a transposed one are read alike.
template <class T>
struct LeftOperand {
  const T* data;
  int64_t row_stride, step_stride;
  LeftOperand rows_from(int64_t r) const { return {data + r * row_stride, row_stride, step_stride}; }
};
template <class T>
LeftOperand<T> plain(const T* a, int64_t lda) { return {a, lda, 1}; }
template <class T>
LeftOperand<T> transposed(const T* a, int64_t lda) { return {a, 1, lda}; }

// c (rows, n) = c0 + a (rows, k) . b (k, n), b and c row-major, for the GEMMs
// of one time step; c0's row r at c0 + r * ldc0 (c itself to accumulate, or a
// bias row with ldc0 = 0). b (the weights, or their transpose) is read in place:
// it is the same at every step, and a general GEMM would pack it again at each
// call. Register tiles of R rows x V vectors of columns.
template <class T, int R, int V>
void register_tile(int64_t k, LeftOperand<T> a, const T* b, int64_t ldb, const T* c0, int64_t ldc0, T* c,
                   int64_t ldc) {
  using simd::Vec;
  constexpr int64_t L = simd::kLanes<T>;
  Vec<T> acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r][v] = simd::load(c0 + r * ldc0 + v * L);
  for (int64_t p = 0; p < k; ++p) {
    const T* bp = b + p * ldb;
    const T* ap = a.data + p * a.step_stride;
    Vec<T> bv[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) bv[v] = simd::load(bp + v * L);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const T ar = ap[r * a.row_stride];
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] += bv[v] * ar;
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) simd::store(c + r * ldc + v * L, acc[r][v]);
}

// One column panel of V vectors over all rows: tiles of 6 rows, then the rest.
template <class T, int V>
void register_panel(int64_t rows, int64_t k, LeftOperand<T> a, const T* b, int64_t ldb, const T* c0, int64_t ldc0,
                    T* c, int64_t ldc) {
  constexpr int kRows = 6;
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows)
    register_tile<T, kRows, V>(k, a.rows_from(r), b, ldb, c0 + r * ldc0, ldc0, c + r * ldc, ldc);
  a = a.rows_from(r);
  c0 += r * ldc0;
  c += r * ldc;
  with_constant<kRows - 1>(rows - r, [&](auto rest) {
    register_tile<T, decltype(rest)::value, V>(k, a, b, ldb, c0, ldc0, c, ldc);
  });
}

// Widest panel, in vectors: a 6-row tile holds 6 x V accumulators, V vectors
// of b and a broadcast, all in registers (4 with 32 registers, 2 with 16).
constexpr int kPanelVectors = simd::kRegisters >= 32 ? 4 : 2;

// c (rows, n) = c0 + a (rows, k) . b (k, n), c0 as in register_tile (by default
// c itself: c += a . b): panels of kPanelVectors, then one of 2 and one of 1
// for what is left; widths that are not whole vectors go to gemm.
template <class T>
void step_gemm(int64_t rows, int64_t k, int64_t n, LeftOperand<T> a, const T* b, int64_t ldb, T* c, int64_t ldc,
               const T* c0 = nullptr, int64_t ldc0 = 0) {
  constexpr int64_t L = simd::kLanes<T>;
  if (!c0) {
    c0 = c;
    ldc0 = ldc;
  }
  if (n % L != 0) {
    if (c0 != c)
      for (int64_t r = 0; r < rows; ++r) std::copy(c0 + r * ldc0, c0 + r * ldc0 + n, c + r * ldc);
    const bool trans_a = a.step_stride != 1;
    return gemm<T>(trans_a, false, rows, n, k, T(1), a.data, trans_a ? a.step_stride : a.row_stride, b, ldb, T(1),
                   c, ldc);
  }
  int64_t j = 0;
  for (; j + kPanelVectors * L <= n; j += kPanelVectors * L)
    register_panel<T, kPanelVectors>(rows, k, a, b + j, ldb, c0 + j, ldc0, c + j, ldc);
  if (j + 2 * L <= n) {
    register_panel<T, 2>(rows, k, a, b + j, ldb, c0 + j, ldc0, c + j, ldc);
    j += 2 * L;
  }
  if (j < n) register_panel<T, 1>(rows, k, a, b + j, ldb, c0 + j, ldc0, c + j, ldc);
}

// (cols, rows) = src (rows, cols)^T, both row-major.
template <class T>
std::vector<T> transpose(int64_t rows, int64_t cols, const T* src) {
  std::vector<T> dst(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  return dst;
}

// One row of one step after its GEMMs: from z (i, f, c, o pre-activations),
// cell = f * cell_prev + i * c and h = o * tanh(cell) (also into out unless
// null). For backward (tanh_cell not null) z is replaced by the activated
// gates and tanh(cell) is kept. One pass over the units, a vector at a time;
// the last one may be partial.
template <class T>
void gate_step(int64_t u, T* z, const T* cell_prev, T* cell, T* tanh_cell, T* h, T* out) {
  using simd::load_upto, simd::store_upto, simd::Vec;
  for (int64_t j = 0; j < u; j += simd::kLanes<T>) {
    const int64_t n = std::min(simd::kLanes<T>, u - j);
    const Vec<T> i = simd::sigmoid(load_upto(z + j, n)), f = simd::sigmoid(load_upto(z + u + j, n)),
                 c = simd::tanh(load_upto(z + 2 * u + j, n)), o = simd::sigmoid(load_upto(z + 3 * u + j, n));
    const Vec<T> new_cell = f * load_upto(cell_prev + j, n) + i * c, new_tanh_cell = simd::tanh(new_cell),
                 new_h = o * new_tanh_cell;
    if (tanh_cell) {
      store_upto(z + j, i, n);
      store_upto(z + u + j, f, n);
      store_upto(z + 2 * u + j, c, n);
      store_upto(z + 3 * u + j, o, n);
      store_upto(tanh_cell + j, new_tanh_cell, n);
    }
    store_upto(cell + j, new_cell, n);
    store_upto(h + j, new_h, n);
    if (out) store_upto(out + j, new_h, n);
  }
}

// Its backward for one row: from dh and the cell gradient carried from the
// next step, the gate gradients dz (added into bias_sum unless null); dcell
// becomes the gradient carried to the previous step.
template <class T>
void gate_gradient_step(int64_t u, const T* gates, const T* tanh_cell, const T* cell_prev, const T* dh, T* dcell,
                        T* dz, T* bias_sum) {
  using simd::load_upto, simd::store_upto, simd::Vec;
  for (int64_t j = 0; j < u; j += simd::kLanes<T>) {
    const int64_t n = std::min(simd::kLanes<T>, u - j);
    const Vec<T> i = load_upto(gates + j, n), f = load_upto(gates + u + j, n), c = load_upto(gates + 2 * u + j, n),
                 o = load_upto(gates + 3 * u + j, n), tc = load_upto(tanh_cell + j, n), h = load_upto(dh + j, n);
    const Vec<T> dc = load_upto(dcell + j, n) + h * o * (T(1) - tc * tc);
    const Vec<T> d[4] = {dc * c * i * (T(1) - i), dc * load_upto(cell_prev + j, n) * f * (T(1) - f),
                         dc * i * (T(1) - c * c), h * tc * o * (T(1) - o)};
    for (int64_t gate = 0; gate < 4; ++gate) {
      store_upto(dz + gate * u + j, d[gate], n);
      if (bias_sum) store_upto(bias_sum + gate * u + j, load_upto(bias_sum + gate * u + j, n) + d[gate], n);
    }
    store_upto(dcell + j, dc * f, n);
  }
}

// The input step read at reading position s.
int64_t input_step(const LstmGeometry& g, int64_t s) { return g.go_backwards ? g.steps - 1 - s : s; }

}  // namespace

template <class T>
void lstm_forward(const LstmGeometry& g, const T* x, const T* kernel, const T* recurrent_kernel, const T* bias, T* y,
                  T* saved) {
  const LstmLayout l = lstm_layout(g);
  const int64_t N = g.batch, u = g.units, G = 4 * u, F = g.features;
  T* gates = saved + l.gates;
  T* cells = saved + l.cells;
  T* tanh_cells = saved + l.tanh_cells;
  T* hidden = saved + l.hidden;
  // Without a backward, the recurrence needs only the current step: gates,
  // cell and hidden state are updated in place in slot 0 (each row is read
  // before it is overwritten), which stays in cache.
  const bool keep = g.keep_for_backward;
  const auto slot = [&](int64_t s) { return keep ? s : 0; };
  std::fill(cells, cells + N * u, T(0));
  std::fill(hidden, hidden + N * u, T(0));

  for_row_blocks(N, row_blocks(g), [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t s = 0; s < g.steps; ++s) {
      // z = bias + x_s . kernel + h_{s-1} . recurrent_kernel; x_s's rows are
      // x[n, t, :], steps * features apart.
      T* z = gates + (slot(s) * N + begin) * G;
      const T* h_prev = hidden + (slot(s) * N + begin) * u;
      step_gemm<T>(end - begin, F, G, plain(x + (begin * g.steps + input_step(g, s)) * F, g.steps * F), kernel, G, z,
                   G, bias, 0);
      if (s > 0) step_gemm<T>(end - begin, u, G, plain(h_prev, u), recurrent_kernel, G, z, G);
      for (int64_t n = begin; n < end; ++n) {
        const int64_t read = slot(s) * N + n, written = slot(s + 1) * N + n;
        T* out = g.return_sequences ? y + (n * g.steps + s) * u : (s == g.steps - 1 ? y + n * u : nullptr);
        T* tanh_cell = keep ? tanh_cells + (s * N + n) * u : nullptr;
        gate_step(u, z + (n - begin) * G, cells + read * u, cells + written * u, tanh_cell, hidden + written * u, out);
      }
    }
  });
}

template <class T>
void lstm_backward(const LstmGeometry& g, const T* x, const T* kernel, const T* recurrent_kernel, const T* saved,
                   const T* gy, T* scratch, T* gx, T* gkernel, T* grecurrent_kernel, T* gbias) {
  const LstmLayout l = lstm_layout(g);
  const int64_t N = g.batch, u = g.units, G = 4 * u;
  const T* gates = saved + l.gates;
  const T* cells = saved + l.cells;
  const T* tanh_cells = saved + l.tanh_cells;
  const T* hidden = saved + l.hidden;
  T* dgates = scratch + l.dgates;
  T* dhidden = scratch + l.dhidden;
  T* dcells = scratch + l.dcells;

  // The steps' GEMMs read the kernels transposed, (G, u) and (G, F): transposed once here.
  const int64_t F = g.features;
  const std::vector<T> recurrent_kernel_t = transpose(u, G, recurrent_kernel);
  const std::vector<T> kernel_t = gx ? transpose(F, G, kernel) : std::vector<T>();
  // Each block sums its own weight and bias gradients step by step, while the
  // step's gate gradients are in cache; the blocks' sums are then added in
  // block order (deterministic). Per block: [bias (G) | recurrent (u, G) | kernel (F, G)].
  const int64_t blocks = row_blocks(g), sums_size = G + u * G + F * G;
  std::vector<T> sums(static_cast<size_t>(blocks * sums_size), T(0));
  for_row_blocks(N, blocks, [&](int64_t block, int64_t begin, int64_t end) {
    const int64_t block_rows = end - begin;
    T* bias_sum = sums.data() + block * sums_size;
    T* recurrent_sum = bias_sum + G;
    T* kernel_sum = recurrent_sum + u * G;
    // The gate gradients of steps s and s + 1 are all a step needs: two slots of
    // dgates, reused, stay in cache.
    const auto dz_of = [&](int64_t step) { return dgates + ((step % 2) * N + begin) * G; };
    std::fill(dcells + begin * u, dcells + end * u, T(0));
    for (int64_t s = g.steps - 1; s >= 0; --s) {
      // dh = upstream gradient of this step's output + dz_{s+1} . recurrent_kernel^T
      for (int64_t n = begin; n < end; ++n) {
        Vec<T> dh(dhidden + n * u, u);
        if (g.return_sequences)
          dh = ConstVec<T>(gy + (n * g.steps + s) * u, u);
        else if (s == g.steps - 1)
          dh = ConstVec<T>(gy + n * u, u);
        else
          dh.setZero();
      }
      if (s < g.steps - 1)
        step_gemm<T>(block_rows, G, u, plain(dz_of(s + 1), G), recurrent_kernel_t.data(), u, dhidden + begin * u,
                     u);
      T* dz = dz_of(s);
      for (int64_t n = begin; n < end; ++n) {
        const int64_t row = s * N + n;
        gate_gradient_step(u, gates + row * G, tanh_cells + row * u, cells + row * u, dhidden + n * u,
                           dcells + n * u, dz + (n - begin) * G, gbias ? bias_sum : nullptr);
      }
      // x_s's rows of gx += dz_s . kernel^T; kernel += x_s^T . dz_s and
      // recurrent_kernel += h_{s-1}^T . dz_s (hidden slot s is the state step s
      // read; zero at s = 0).
      const T* x_s = x + (begin * g.steps + input_step(g, s)) * F;
      if (gx)
        step_gemm<T>(block_rows, G, F, plain(dz, G), kernel_t.data(), F, gx + (x_s - x), g.steps * F);
      if (gkernel) step_gemm<T>(F, block_rows, G, transposed(x_s, g.steps * F), dz, G, kernel_sum, G);
      if (grecurrent_kernel && s > 0)
        step_gemm<T>(u, block_rows, G, transposed(hidden + (s * N + begin) * u, u), dz, G, recurrent_sum, G);
    }
  });
  for (int64_t b = 0; b < blocks; ++b) {
    const T* block_sums = sums.data() + b * sums_size;
    if (gbias) Vec<T>(gbias, G) += ConstVec<T>(block_sums, G);
    if (grecurrent_kernel) Vec<T>(grecurrent_kernel, u * G) += ConstVec<T>(block_sums + G, u * G);
    if (gkernel) Vec<T>(gkernel, F * G) += ConstVec<T>(block_sums + G + u * G, F * G);
  }
}

template <class T>
void reverse_steps(int64_t batch, int64_t steps, int64_t width, const T* x, T* y, bool accumulate) {
  const int64_t rows = batch * steps;
  TIMBRE_PARALLEL_FOR_IF(rows * width >= kElementwiseGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / steps, t = r % steps;
    ConstVec<T> from(x + r * width, width);
    Vec<T> to(y + (n * steps + steps - 1 - t) * width, width);
    if (accumulate)
      to += from;
    else
      to = from;
  }
}

TIMBRE_INSTANTIATE_KERNEL(lstm_forward)
TIMBRE_INSTANTIATE_KERNEL(lstm_backward)
TIMBRE_INSTANTIATE_KERNEL(reverse_steps)

}  // namespace timbre::kernels::cpu
