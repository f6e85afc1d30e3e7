// Typed parameters of the kernels: plain structs, so a wrong field is a
// compile error rather than a misread integer. All tensors are contiguous and
// channels-last (N, H, W, C); counts are int64_t.
#pragma once

#include <algorithm>
#include <cstdint>

namespace timbre::kernels {

struct Conv2dGeometry {
  int64_t batch, in_h, in_w, in_c;
  int64_t out_h, out_w, out_c;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_left;  // rows/columns of zeros before the input; padding after is implied by out_h/out_w
};

// conv2d's im2col path (CPU and CUDA) runs over the batch in chunks of whole
// samples whose columns (OH*OW rows of KH*KW*Cin each) fit a backend's column
// buffer of `buffer_elements`, at least one sample a chunk: body(first, count).
inline int64_t samples_per_chunk(const Conv2dGeometry& g, int64_t buffer_elements) {
  const int64_t per_sample = std::max<int64_t>(g.out_h * g.out_w * g.kernel_h * g.kernel_w * g.in_c, 1);
  return std::clamp<int64_t>(buffer_elements / per_sample, 1, std::max<int64_t>(g.batch, 1));
}
template <class Body>
void for_each_sample_chunk(const Conv2dGeometry& g, int64_t chunk, Body body) {
  for (int64_t first = 0; first < g.batch; first += chunk) body(first, std::min(chunk, g.batch - first));
}

struct Pool2dGeometry {
  int64_t batch, in_h, in_w, channels;
  int64_t out_h, out_w;
  int64_t pool_h, pool_w;
  int64_t stride_h, stride_w;
};

// A stride-1 Conv2D followed by max pooling with stride = pool (Keras'
// default), fused by conv2d_pool: the output is (batch, out_h, out_w,
// conv.out_c) with out_h = conv.out_h / pool_h and out_w = conv.out_w / pool_w.
struct ConvPoolGeometry {
  Conv2dGeometry conv;
  int64_t pool_h, pool_w, out_h, out_w;
};

// Keras' BatchNormalization over every axis but the last: `rows` = N*H*W positions of `channels`.
struct BatchNormGeometry {
  int64_t rows, channels;
};

// LSTM over batch-major input x (batch, steps, features) with `units` cells.
// go_backwards reads the steps last to first; with return_sequences the output
// (batch, steps, units) holds the states in that reading order (as Keras does),
// otherwise the output is the last state read, (batch, units).
struct LstmGeometry {
  int64_t batch, steps, features, units;
  bool return_sequences, go_backwards;
  // false: no backward will follow this forward, so a backend may keep only
  // what the recurrence itself needs (the CPU does; `saved` is then not usable).
  bool keep_for_backward = true;
};

// Where each buffer lies, in elements, inside the LSTM's two workspaces. Every
// backend uses this layout, so the op sizes them once. All are time-major in
// reading order s = 0..steps-1 (rows s*batch + n), which keeps each step's rows
// contiguous for the per-step GEMMs.
// saved (forward writes, backward reads; backward reads x itself too):
//   gates       (steps, batch, 4*units)    activated gates i, f, c, o
//   cells       (steps+1, batch, units)    cell states; slot 0 is the zero initial state
//   tanh_cells  (steps, batch, units)      tanh of cell slot s+1
//   hidden      (steps+1, batch, units)    hidden states; slot 0 is the zero initial state
// scratch (backward only):
//   dgates      (steps, batch, 4*units)    gradient w.r.t. the gate pre-activations (the CPU
//                                          backend uses two steps' worth of it, as a ring)
//   inputs      (steps, batch, features)   x in reading order (CUDA: one kernel-gradient GEMM)
//   dinputs     (steps, batch, features)   gradient w.r.t. inputs before reordering into gx (CUDA)
//   dhidden, dcells (batch, units)         gradients carried from step s+1 to step s
struct LstmLayout {
  int64_t gates, cells, tanh_cells, hidden, saved_size;
  int64_t dgates, inputs, dinputs, dhidden, dcells, scratch_size;
};

inline LstmLayout lstm_layout(const LstmGeometry& g) {
  const int64_t rows = g.steps * g.batch, state = g.batch * g.units;
  LstmLayout l{};
  l.gates = 0;
  l.cells = l.gates + rows * 4 * g.units;
  l.tanh_cells = l.cells + (g.steps + 1) * state;
  l.hidden = l.tanh_cells + g.steps * state;
  l.saved_size = l.hidden + (g.steps + 1) * state;
  l.dgates = 0;
  l.inputs = l.dgates + rows * 4 * g.units;
  l.dinputs = l.inputs + rows * g.features;
  l.dhidden = l.dinputs + rows * g.features;
  l.dcells = l.dhidden + state;
  l.scratch_size = l.dcells + state;
  return l;
}

}  // namespace timbre::kernels
