// Conv2D (stride 1) + LeakyReLU + max pooling (stride = pool), fused, on the
// direct convolution's register tiles (direct_conv.h).
// Forward, per sample: a strip of conv rows (a multiple of both the pool
// height and the tile's rows) is convolved into a small planar buffer that
// stays in L1 cache and pooled from there at once, so the convolution's output
// never goes through memory and the LeakyReLU touches only the maxima.
// Backward: the convolution's output gradient is nonzero only at each window's
// argmax, one position in pool_h * pool_w, so the weight and bias gradients are
// sums over the pooled outputs alone (with pool 4 a sixteenth of an unfused
// convolution's weight-gradient work), with no activation or pooling pass over
// memory. The data gradient, when needed, is the direct convolution of that
// sparse gradient, placed into one sample's planes, with the flipped kernel.
#include <algorithm>
#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

#include "kernels/cpu/constant.h"
#include "kernels/cpu/direct_conv.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/pool_window.h"
#include "kernels/cpu/simd.h"
#include "kernels/dispatch.h"

namespace timbre::kernels::cpu {

namespace {
using direct::kChannelBlock;
using direct::kMaxRowBlock;
using direct::kRowBlock;
using direct::Planes;
using simd::kLanes;
using simd::Vec;

// Kernel rows whose weight-gradient sums one pass keeps in registers.
constexpr int kTapRowBlock = 8;

// One thread's convolution outputs for a strip of rows, split by the column's
// place in its window: [channel][row][dx][px] holds conv column px * pool_w + dx,
// so pooling is elementwise vector work over px. Sized for a channel block.
template <class T>
struct Strip {
  int64_t rows, phase_cols;
  std::vector<T> data;
  std::vector<T> pooled, position;  // [channel][px]: one pooled row before it goes to y

  explicit Strip(const ConvPoolGeometry& g)
      : rows(g.pool_h * kMaxRowBlock),
        // Tiles cover the used columns in whole vectors: round_up(out_w * pool_w, kLanes) of them.
        phase_cols(direct::round_up((direct::round_up(g.out_w * g.pool_w, kLanes<T>) + g.pool_w - 1) / g.pool_w,
                                    kLanes<T>)),
        data(static_cast<size_t>(kChannelBlock * rows * g.pool_w * phase_cols)),
        pooled(static_cast<size_t>(kChannelBlock * phase_cols)),
        position(static_cast<size_t>(kChannelBlock * phase_cols)) {}
  // Window column dx of row r of channel c.
  T* phase(const ConvPoolGeometry& g, int64_t c, int64_t r, int64_t dx) {
    return data.data() + ((c * rows + r) * g.pool_w + dx) * phase_cols;
  }
};

// Stores tile columns ow0 .. ow0 + kLanes (ow0 a multiple of kLanes) of one row
// into its window-column phases `row` (pool_w rows of phase_cols).
template <class T>
[[gnu::always_inline]] inline void store_phases(const Vec<T>& v, int64_t pool_w, int64_t phase_cols, int64_t ow0,
                                                T* row) {
  constexpr int64_t L = kLanes<T>;
  // Lanes regrouped dx-major (columns dx, dx + P, dx + 2P, ...), then one narrow store per phase.
  const auto split = [&]<int64_t P>(std::integral_constant<int64_t, P>) {
    using Index = typename simd::Lanes<std::conditional_t<sizeof(T) == 4, int32_t, int64_t>, L>::type;
    Index order;
    for (int64_t j = 0; j < L; ++j) order[j] = (j % (L / P)) * P + j / (L / P);
    const Vec<T> grouped = __builtin_shuffle(v, order);
    for (int64_t dx = 0; dx < P; ++dx)
      std::memcpy(row + dx * phase_cols + ow0 / P, reinterpret_cast<const T*>(&grouped) + dx * (L / P),
                  sizeof(T) * (L / P));
  };
  switch (pool_w) {
    case 1: simd::store(row + ow0, v); return;
    case 2: split(std::integral_constant<int64_t, 2>{}); return;
    case 4:
      if constexpr (L >= 4) return split(std::integral_constant<int64_t, 4>{});
      [[fallthrough]];  // two-lane vectors (double without AVX): lane by lane
    default:
      for (int64_t j = 0; j < L; ++j) row[((ow0 + j) % pool_w) * phase_cols + (ow0 + j) / pool_w] = v[j];
  }
}

// Pools the strip's first `pooled_rows` rows of windows for channels [0, count)
// into y and argmax (which point at the first pooled row's channel co0; rows of
// out_w * out_c). Window positions in row-major order with a strict >: the
// first maximum wins, as in maxpool2d.
template <class T>
void pool_strip(const ConvPoolGeometry& g, T negative_slope, Strip<T>& s, int64_t pooled_rows, int64_t count, T* y,
                T* argmax) {
  const int64_t out_c = g.conv.out_c;
  for (int64_t pr = 0; pr < pooled_rows; ++pr) {
    for (int64_t c = 0; c < count; ++c)
      for (int64_t j = 0; j < g.out_w; j += kLanes<T>) {
        Vec<T> best = simd::load(s.phase(g, c, pr * g.pool_h, 0) + j), first{};
        for (int64_t p = 1; p < g.pool_h * g.pool_w; ++p) {
          const Vec<T> v = simd::load(s.phase(g, c, pr * g.pool_h + p / g.pool_w, p % g.pool_w) + j);
          const auto greater = v > best;
          best = greater ? v : best;
          first = greater ? Vec<T>{} + static_cast<T>(p) : first;
        }
        simd::store(s.pooled.data() + c * s.phase_cols + j, best > 0 ? best : negative_slope * best);
        simd::store(s.position.data() + c * s.phase_cols + j, first);
      }
    // To channels-last.
    T* yr = y + pr * g.out_w * out_c;
    T* ar = argmax ? argmax + pr * g.out_w * out_c : nullptr;
    for (int64_t px = 0; px < g.out_w; ++px)
      for (int64_t c = 0; c < count; ++c) {
        yr[px * out_c + c] = s.pooled[c * s.phase_cols + px];
        if (ar) ar[px * out_c + c] = s.position[c * s.phase_cols + px];
      }
  }
}

// Output channels [co0, co0 + CO) of one sample: strips of conv rows, each pooled at once.
template <class T, int CO>
void sample_forward(const ConvPoolGeometry& g, const direct::Geometry& d, T negative_slope, const Planes<T>& x,
                    const T* w, const T* b, int64_t co0, Strip<T>& s, T* y, T* argmax) {
  constexpr int R = kRowBlock<CO>;
  const int64_t strip_rows = g.pool_h * R;  // a multiple of R: tiles never cross strips
  const int64_t used_h = g.out_h * g.pool_h, used_w = g.out_w * g.pool_w;
  Vec<T> bias[CO];
  for (int c = 0; c < CO; ++c) bias[c] = Vec<T>{} + (b ? b[co0 + c] : T(0));
  for (int64_t first = 0; first < used_h; first += strip_rows) {
    const int64_t rows = std::min(strip_rows, used_h - first);
    for (int64_t r0 = 0; r0 < rows; r0 += R)
      for (int64_t ow0 = 0; ow0 < used_w; ow0 += kLanes<T>) {
        direct::Tile<T, CO> acc;
        direct::accumulate_tile<T, CO>(d, x, w, first + r0, ow0, co0, acc);
        for (int r = 0; r < R; ++r)
          for (int c = 0; c < CO; ++c)
            store_phases(acc[r][c] + bias[c], g.pool_w, s.phase_cols, ow0, s.phase(g, c, r0 + r, 0));
      }
    const int64_t offset = (first / g.pool_h) * g.out_w * g.conv.out_c + co0;
    pool_strip(g, negative_slope, s, rows / g.pool_h, CO, y + offset, argmax ? argmax + offset : nullptr);
  }
}

}  // namespace

template <class T>
void conv2d_pool_forward(const ConvPoolGeometry& g, T negative_slope, const T* x, const T* w, const T* b, T* y,
                         T* argmax) {
  const direct::Geometry d = direct::geometry_of(g.conv);
  const int64_t work =
      g.conv.batch * g.out_h * g.pool_h * g.out_w * g.pool_w * d.out_c * d.kernel_h * d.kernel_w * d.in_c;
  const int64_t in_size = d.in_h * d.in_w * d.in_c, out_size = g.out_h * g.out_w * d.out_c;
#ifdef _OPENMP
#pragma omp parallel if (work >= kElementwiseGrain)
#endif
  {
    Planes<T> planes(d, 0);
    Strip<T> strip(g);
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int64_t n = 0; n < g.conv.batch; ++n) {
      planes.fill(d, x + n * in_size);
      for (int64_t co0 = 0; co0 < d.out_c; co0 += kChannelBlock)
        with_constant<kChannelBlock>(std::min<int64_t>(kChannelBlock, d.out_c - co0), [&](auto co) {
          sample_forward<T, decltype(co)::value>(g, d, negative_slope, planes, w, b, co0, strip, y + n * out_size,
                                                 argmax ? argmax + n * out_size : nullptr);
        });
    }
  }
  (void)work;
}

template <class T>
void conv2d_pool_backward(const ConvPoolGeometry& g, T negative_slope, const T* x, const T* w, const T* y,
                          const T* argmax, const T* gy, T* gx, T* gw, T* gb) {
  if (!gx && !gw && !gb) return;
  const direct::Geometry d = direct::geometry_of(g.conv);
  const int64_t taps = d.kernel_h * d.kernel_w, wsize = taps * d.in_c * d.out_c;
  const int64_t in_size = d.in_h * d.in_w * d.in_c, out_size = g.out_h * g.out_w * d.out_c;
  const int64_t work = g.conv.batch * out_size * taps * d.in_c * ((gw ? 1 : 0) + (gx ? 1 : 0));
  // A kernel row (kw = 0 .. kernel_w) of the weight gradient is summed as
  // `chunks` whole vectors: lanes past kernel_w read the planes' slack and are
  // dropped. Tap rows are indexed [co][ci][kh].
  const int64_t chunks = (d.kernel_w + kLanes<T> - 1) / kLanes<T>;
  const int64_t tap_rows = d.out_c * d.in_c * d.kernel_h;
  const auto tap_row = [&](int64_t co, int64_t ci, int64_t kh) {
    return ((co * d.in_c + ci) * d.kernel_h + kh) * chunks;
  };
  // gx = conv(the sparse output gradient, flipped w), a direct convolution per sample.
  const direct::Geometry dd = direct::data_gradient_geometry(g.conv);
  const std::vector<T> flipped = gx ? direct::flipped_kernel(g.conv, w) : std::vector<T>();
  // Sums in double, Keras' kernel layout then the bias, per thread (per_thread_sums: deterministic).
  const std::vector<double> sums = per_thread_sums(
      g.conv.batch, wsize + d.out_c, work >= kElementwiseGrain, [&](int64_t first, int64_t last, double* gw_local) {
        double* gb_local = gw_local + wsize;
        std::vector<Vec<T>> gw_sample(gw ? static_cast<size_t>(tap_rows * chunks) : 0);
        // x's planes (with a vector of slack after each row) for gw; the output gradient's for gx.
        std::optional<Planes<T>> xp, gyp;
        if (gw) xp.emplace(d, kLanes<T>);
        if (gx) gyp.emplace(dd, 0);
        const int64_t windows = g.out_h * g.out_w;  // per channel
        std::vector<T> grads(static_cast<size_t>(out_size));
        std::vector<int64_t> corners(gw ? grads.size() : 0);
        // Each window position's offset from the window's corner in x's planes and in the gradient's.
        const std::vector<int64_t> x_offset = window_offsets(g.pool_h, g.pool_w, xp ? xp->cols : 0, 1),
                                   gy_offset = window_offsets(g.pool_h, g.pool_w, gyp ? gyp->cols : 0, 1);
        for (int64_t n = first; n < last; ++n) {
          if (gw) {
            xp->fill(d, x + n * in_size);
            std::fill(gw_sample.begin(), gw_sample.end(), Vec<T>{});
          }
          if (gx) std::fill(gyp->data.begin(), gyp->data.end(), T(0));
          // The convolution's output gradient at each window's argmax, one pass in memory order:
          // placed into the gradient's planes for gx; listed by channel with the argmax's offset in
          // x's planes for gw (conv position (oh, ow) reads plane rows oh + kh from column ow).
          // No test for zeros: a branch on the sign of y would be mispredicted half the time.
          const T* gy_n = gy + n * out_size;
          const T* y_n = y + n * out_size;
          const T* argmax_n = argmax + n * out_size;
          for (int64_t py = 0, e = 0; py < g.out_h; ++py)
            for (int64_t px = 0; px < g.out_w; ++px)
              for (int64_t co = 0; co < d.out_c; ++co, ++e) {
                const T grad = gy_n[e] * (y_n[e] > 0 ? T(1) : negative_slope);
                const auto p = static_cast<size_t>(argmax_n[e]);
                if (gx) gyp->row(co, py * g.pool_h + dd.pad_top)[px * g.pool_w + dd.pad_left + gy_offset[p]] = grad;
                const int64_t slot = co * windows + py * g.out_w + px;
                if (gw) corners[slot] = py * g.pool_h * xp->cols + px * g.pool_w + x_offset[p];
                grads[slot] = grad;
              }
          for (int64_t co = 0; co < d.out_c; ++co) {
            const T* grads_co = grads.data() + co * windows;
            const int64_t* corners_co = corners.data() + co * windows;
            T bias_sum = 0;  // summed apart: adding into gb_local here would chain every element through memory
#pragma omp simd reduction(+ : bias_sum)
            for (int64_t i = 0; i < windows; ++i) bias_sum += grads_co[i];
            gb_local[co] += bias_sum;
            if (!gw) continue;
            for (int64_t ci = 0; ci < d.in_c; ++ci)
              for (int64_t k = 0; k < chunks; ++k)
                for (int64_t kh0 = 0; kh0 < d.kernel_h; kh0 += kTapRowBlock) {
                  const int64_t at = (ci * xp->rows + kh0) * xp->cols + k * kLanes<T>, row = tap_row(co, ci, kh0) + k;
                  with_constant<kTapRowBlock>(std::min<int64_t>(kTapRowBlock, d.kernel_h - kh0), [&](auto rows) {
                    constexpr int KB = decltype(rows)::value;
                    // Register accumulators: a sum in memory would chain each update to the last through a store.
                    Vec<T> acc[KB] = {};
                    const T* base = xp->data.data() + at;
                    for (int64_t i = 0; i < windows; ++i) {
                      const Vec<T> gv = Vec<T>{} + grads_co[i];
                      for (int r = 0; r < KB; ++r) acc[r] += gv * simd::load(base + corners_co[i] + r * xp->cols);
                    }
                    for (int r = 0; r < KB; ++r) gw_sample[row + r * chunks] += acc[r];
                  });
                }
          }
          if (gw)
            for (int64_t kh = 0; kh < d.kernel_h; ++kh)
              for (int64_t kw = 0; kw < d.kernel_w; ++kw)
                for (int64_t ci = 0; ci < d.in_c; ++ci)
                  for (int64_t co = 0; co < d.out_c; ++co)
                    gw_local[((kh * d.kernel_w + kw) * d.in_c + ci) * d.out_c + co] +=
                        gw_sample[tap_row(co, ci, kh) + kw / kLanes<T>][kw % kLanes<T>];
          if (gx)
            direct::convolve_sample(dd, *gyp, flipped.data(), static_cast<const T*>(nullptr), true, gx + n * in_size);
        }
      });
  if (gw)
    for (int64_t i = 0; i < wsize; ++i) gw[i] += static_cast<T>(sums[i]);
  if (gb)
    for (int64_t c = 0; c < d.out_c; ++c) gb[c] += static_cast<T>(sums[wsize + c]);
}

TIMBRE_INSTANTIATE_KERNEL(conv2d_pool_forward)
TIMBRE_INSTANTIATE_KERNEL(conv2d_pool_backward)

}  // namespace timbre::kernels::cpu
