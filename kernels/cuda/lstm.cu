// LSTM on the GPU, with the CPU twin's plan and saved layout (lstm_layout):
// one GEMM projects the inputs of every step; then, per step, our GEMM adds
// h_{s-1} . recurrent_kernel and one elementwise kernel applies the gates and
// updates the cell. Backward runs the steps in reverse: one GEMM carries the
// hidden-state gradient back, one kernel forms the gate gradients; the weight
// and bias gradients then come from GEMMs and column sums over all steps. The
// recurrence stays on the device: the host only sequences the launches.
#include <cmath>

#include "kernels/cuda/columns.cuh"

namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE {

namespace {
template <class T>
__device__ __forceinline__ T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}

// The input step read at reading position s.
__device__ __forceinline__ int64_t input_step(const LstmGeometry& g, int64_t s) {
  return g.go_backwards ? g.steps - 1 - s : s;
}

// dst (steps, batch, width) in reading order <- src (batch, steps, width).
template <class T>
__global__ void to_time_major_kernel(LstmGeometry g, int64_t width, const T* src, T* dst) {
  TIMBRE_GRID_STRIDE_LOOP(e, g.steps * g.batch * width) {
    const int64_t r = e / width, s = r / g.batch, n = r % g.batch;
    dst[e] = src[(n * g.steps + input_step(g, s)) * width + e % width];
  }
}

// dst (batch, steps, width) += src (steps, batch, width) in reading order.
template <class T>
__global__ void add_to_batch_major_kernel(LstmGeometry g, int64_t width, const T* src, T* dst) {
  TIMBRE_GRID_STRIDE_LOOP(e, g.steps * g.batch * width) {
    const int64_t r = e / width, s = r / g.batch, n = r % g.batch;
    dst[(n * g.steps + input_step(g, s)) * width + e % width] += src[e];
  }
}

// Step s: activates the gates z (batch, 4u) in place, then the cell and hidden state.
template <class T>
__global__ void lstm_step_kernel(LstmGeometry g, int64_t s, const T* bias, T* z, const T* cell_prev, T* cell,
                                 T* tanh_cell, T* hidden, T* y) {
  const int64_t u = g.units, G = 4 * u;
  TIMBRE_GRID_STRIDE_LOOP(e, g.batch * u) {
    const int64_t n = e / u, j = e % u;
    T* zn = z + n * G;
    const T i = sigmoid(zn[j] + bias[j]), f = sigmoid(zn[u + j] + bias[u + j]);
    const T candidate = tanh(zn[2 * u + j] + bias[2 * u + j]), o = sigmoid(zn[3 * u + j] + bias[3 * u + j]);
    zn[j] = i;
    zn[u + j] = f;
    zn[2 * u + j] = candidate;
    zn[3 * u + j] = o;
    const T c = f * cell_prev[e] + i * candidate;
    const T tc = tanh(c);
    cell[e] = c;
    tanh_cell[e] = tc;
    hidden[e] = o * tc;
    if (g.return_sequences)
      y[(n * g.steps + s) * u + j] = o * tc;
    else if (s == g.steps - 1)
      y[e] = o * tc;
  }
}

// dh of step s from the upstream gradient alone (the recurrent part is added by a GEMM).
template <class T>
__global__ void upstream_hidden_gradient_kernel(LstmGeometry g, int64_t s, const T* gy, T* dhidden) {
  const int64_t u = g.units;
  TIMBRE_GRID_STRIDE_LOOP(e, g.batch * u) {
    const int64_t n = e / u, j = e % u;
    dhidden[e] = g.return_sequences ? gy[(n * g.steps + s) * u + j] : s == g.steps - 1 ? gy[e] : T(0);
  }
}

// Step s: gate gradients dz (batch, 4u) from dh and the carried dcell, which becomes dcell * f.
template <class T>
__global__ void lstm_step_backward_kernel(LstmGeometry g, const T* gates, const T* tanh_cells,
                                          const T* cell_prev, const T* dhidden, T* dcells, T* dz) {
  const int64_t u = g.units, G = 4 * u;
  TIMBRE_GRID_STRIDE_LOOP(e, g.batch * u) {
    const int64_t n = e / u, j = e % u;
    const T* a = gates + n * G;
    const T i = a[j], f = a[u + j], candidate = a[2 * u + j], o = a[3 * u + j];
    const T tc = tanh_cells[e], dh = dhidden[e];
    const T dcell = dcells[e] + dh * o * (T(1) - tc * tc);
    T* d = dz + n * G;
    d[j] = dcell * candidate * i * (T(1) - i);
    d[u + j] = dcell * cell_prev[e] * f * (T(1) - f);
    d[2 * u + j] = dcell * i * (T(1) - candidate * candidate);
    d[3 * u + j] = dh * tc * o * (T(1) - o);
    dcells[e] = dcell * f;
  }
}

template <class T>
__global__ void reverse_steps_kernel(int64_t batch, int64_t steps, int64_t width, const T* x, T* y,
                                     bool accumulate) {
  TIMBRE_GRID_STRIDE_LOOP(e, batch * steps * width) {
    const int64_t r = e / width, n = r / steps, t = r % steps;
    T& out = y[(n * steps + steps - 1 - t) * width + e % width];
    out = accumulate ? out + x[e] : x[e];
  }
}
}  // namespace

template <class T>
void lstm_forward(const LstmGeometry& g, const T* x, const T* kernel, const T* recurrent_kernel, const T* bias, T* y,
                  T* saved) {
  const LstmLayout l = lstm_layout(g);
  const int64_t N = g.batch, u = g.units, G = 4 * u, state = N * u;
  T* gates = saved + l.gates;
  T* cells = saved + l.cells;
  T* tanh_cells = saved + l.tanh_cells;
  T* hidden = saved + l.hidden;

  fill<T>(state, T(0), cells);
  fill<T>(state, T(0), hidden);
  for (int64_t s = 0; s < g.steps; ++s) {
    T* z = gates + s * N * G;
    const T* h_prev = hidden + s * state;
    // The step's input rows are x[n, t, :], steps * features apart.
    const int64_t t = g.go_backwards ? g.steps - 1 - s : s;
    gemm<T>(false, false, N, G, g.features, T(1), x + t * g.features, g.steps * g.features, kernel, G, T(0), z, G);
    if (s > 0) gemm<T>(false, false, N, G, u, T(1), h_prev, u, recurrent_kernel, G, T(1), z, G);
    launch("lstm_forward", lstm_step_kernel<T>, blocks_for(state), kThreads, 0, g, s, bias, z,
           static_cast<const T*>(cells + s * state), cells + (s + 1) * state, tanh_cells + s * state,
           hidden + (s + 1) * state, y);
  }
}

template <class T>
void lstm_backward(const LstmGeometry& g, const T* x, const T* kernel, const T* recurrent_kernel, const T* saved,
                   const T* gy, T* scratch, T* gx, T* gkernel, T* grecurrent_kernel, T* gbias) {
  const LstmLayout l = lstm_layout(g);
  const int64_t N = g.batch, u = g.units, G = 4 * u, rows = g.steps * N, state = N * u;
  const T* gates = saved + l.gates;
  const T* cells = saved + l.cells;
  const T* tanh_cells = saved + l.tanh_cells;
  const T* hidden = saved + l.hidden;
  T* dgates = scratch + l.dgates;
  T* dhidden = scratch + l.dhidden;
  T* dcells = scratch + l.dcells;

  fill<T>(state, T(0), dcells);
  for (int64_t s = g.steps - 1; s >= 0; --s) {
    launch("lstm_backward", upstream_hidden_gradient_kernel<T>, blocks_for(state), kThreads, 0, g, s, gy, dhidden);
    if (s < g.steps - 1)
      gemm<T>(false, true, N, u, G, T(1), dgates + (s + 1) * N * G, G, recurrent_kernel, G, T(1), dhidden, u);
    launch("lstm_backward", lstm_step_backward_kernel<T>, blocks_for(state), kThreads, 0, g, gates + s * N * G,
           tanh_cells + s * state, cells + s * state, static_cast<const T*>(dhidden), dcells, dgates + s * N * G);
  }
  if (gbias) add_column_sums(rows, G, static_cast<const T*>(dgates), gbias);
  // Weight gradients over all steps at once; hidden slot s is the state step s read.
  if (grecurrent_kernel) gemm<T>(true, false, u, G, rows, T(1), hidden, u, dgates, G, T(1), grecurrent_kernel, G);
  if (gkernel) {
    // x in reading order, so that its rows match dgates' in one GEMM over all steps.
    T* inputs = scratch + l.inputs;
    launch("lstm_backward", to_time_major_kernel<T>, blocks_for(rows * g.features), kThreads, 0, g, g.features, x,
           inputs);
    gemm<T>(true, false, g.features, G, rows, T(1), static_cast<const T*>(inputs), g.features, dgates, G, T(1),
            gkernel, G);
  }
  if (gx) {
    T* dinputs = scratch + l.dinputs;
    gemm<T>(false, true, rows, g.features, G, T(1), dgates, G, kernel, G, T(0), dinputs, g.features);
    launch("lstm_backward", add_to_batch_major_kernel<T>, blocks_for(rows * g.features), kThreads, 0, g, g.features,
           static_cast<const T*>(dinputs), gx);
  }
}

template <class T>
void reverse_steps(int64_t batch, int64_t steps, int64_t width, const T* x, T* y, bool accumulate) {
  launch("reverse_steps", reverse_steps_kernel<T>, blocks_for(batch * steps * width), kThreads, 0, batch, steps,
         width, x, y, accumulate);
}

TIMBRE_INSTANTIATE_KERNEL(lstm_forward)
TIMBRE_INSTANTIATE_KERNEL(lstm_backward)
TIMBRE_INSTANTIATE_KERNEL(reverse_steps)

}  // namespace timbre::kernels::TIMBRE_CUDA_NAMESPACE
