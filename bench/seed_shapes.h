// The seed models' layer shapes at batch 128, shared by the CPU benchmarks
// (bench_conv2d, bench_lstm) and the GPU ones (bench_cuda), so that both time the same work.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/geometry.h"

namespace timbre::bench {

constexpr int64_t kSeedBatch = 128;

struct ConvShape {
  const char* label;
  int64_t h, w, cin, k, cout;
  bool same;
};

inline constexpr std::array<ConvShape, 6> seed_convs{{{"p11_conv8x8", 80, 80, 1, 8, 3, false},
                                                      {"p11_conv4x4", 80, 80, 1, 4, 4, false},
                                                      {"p12_conv1", 80, 80, 1, 4, 8, false},
                                                      {"p12_conv2", 38, 38, 8, 3, 6, false},
                                                      {"p2_conv1", 80, 80, 1, 4, 8, true},
                                                      {"p2_conv2", 40, 40, 8, 3, 6, true}}};

inline kernels::Conv2dGeometry geometry(const ConvShape& s) {
  kernels::Conv2dGeometry g{};
  g.batch = kSeedBatch, g.in_h = s.h, g.in_w = s.w, g.in_c = s.cin, g.kernel_h = s.k, g.kernel_w = s.k, g.out_c = s.cout;
  g.stride_h = g.stride_w = 1;
  g.out_h = s.same ? s.h : s.h - s.k + 1, g.out_w = s.same ? s.w : s.w - s.k + 1;
  g.pad_top = s.same ? (s.k - 1) / 2 : 0, g.pad_left = g.pad_top;
  return g;
}

// Multiply-adds of one forward pass of the convolution.
inline double conv_macs(const kernels::Conv2dGeometry& g) {
  return static_cast<double>(g.batch * g.out_h * g.out_w) * g.kernel_h * g.kernel_w * g.in_c * g.out_c;
}

struct LstmShape {
  const char* label;
  int64_t steps, features, units;
  bool bidirectional;  // as the seed has it: P2's are, P1.2's are not
};

inline constexpr std::array<LstmShape, 4> seed_lstms{{{"p2_bilstm1", 100, 24, 128, true},
                                                      {"p2_bilstm2", 100, 256, 32, true},
                                                      {"p12_lstm1", 324, 6, 128, false},
                                                      {"p12_lstm2", 324, 128, 32, false}}};

// FLOPs of the LSTM's GEMM work in one forward pass: 2*N*T*4u*(F+u) per direction.
inline double lstm_forward_flops(int64_t batch, int64_t steps, int64_t features, int64_t units, bool bidirectional) {
  return 2.0 * static_cast<double>(batch * steps * 4 * units * (features + units)) * (bidirectional ? 2 : 1);
}

// The LSTM's per-step GEMMs for 128 units: C (m, n) = A (m, k) . op(B), B stored (k, n) or,
// transposed, (n, k) as the backward reads it.
struct GemmShape {
  const char* label;
  int64_t m, k, n;
  bool trans_b;
};

inline constexpr std::array<GemmShape, 2> lstm_step_gemms{{
    {"lstm_step_fwd", kSeedBatch, 128, 512, false},  // h (N, u) . recurrent_kernel (u, 4u)
    {"lstm_step_bwd", kSeedBatch, 512, 128, true},   // dz (N, 4u) . recurrent_kernel^T
}};

}  // namespace timbre::bench
