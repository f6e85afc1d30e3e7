// The CUDA kernels (kernels/cuda/*.cu) against their CPU twins on random
// inputs, forward and backward, float and double, at sizes that do not divide
// the block sizes. Each comparison runs on the SIMT emulator (kernels::emu: the
// same .cu sources compiled as C++), and natively on a GPU when one is present;
// without one, the native half reports itself skipped. Also: the emulator's own
// barriers, shuffles and atomics, and the error for a missing GPU.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cuda/runtime.cuh"  // the emulator's view of CUDA, for the tests of the emulator itself
#include "kernels/dispatch.h"
#include "kernels/emu/kernels.h"
#include "timbre/timbre.h"

using namespace timbre;
namespace k = timbre::kernels;

namespace {

enum class Backend { cpu, emu, cuda };

const char* backend_name(Backend b) { return b == Backend::cpu ? "cpu" : b == Backend::emu ? "emulated CUDA" : "CUDA"; }

// CALL(backend, kernel<T>, args...) runs the kernel of that backend.
#ifdef TIMBRE_WITH_CUDA_KERNELS
#define CALL_NATIVE(kernel, ...) k::cuda::kernel(__VA_ARGS__)
constexpr bool kNativeKernels = true;
#else
#define CALL_NATIVE(kernel, ...) FAIL("this build has no native CUDA kernels")
constexpr bool kNativeKernels = false;
#endif
#define CALL(backend, kernel, ...)                                  \
  do {                                                              \
    if ((backend) == Backend::cpu) k::cpu::kernel(__VA_ARGS__);     \
    else if ((backend) == Backend::emu) k::emu::kernel(__VA_ARGS__); \
    else CALL_NATIVE(kernel, __VA_ARGS__);                          \
  } while (0)

// Hands a kernel the backend's pointer to a host vector: the vector itself on
// the CPU and in the emulator; on a GPU a device copy (one per vector), copied
// back into the vector when the Memory goes out of scope unless the vector is const.
class Memory {
 public:
  explicit Memory(Backend backend) : backend_(backend) {}
  Memory(const Memory&) = delete;
  ~Memory() {
    for (const Mirror& m : mirrors_) {
      if (m.copy_back) device_memory::copy(m.host, Device::cpu(), m.device, Device::cuda(), m.bytes);
      device_memory::release(Device::cuda(), m.device);
    }
  }
  template <class T>
  T* operator()(std::vector<T>& v) {
    return static_cast<T*>(place(v.data(), v.size() * sizeof(T), true));
  }
  template <class T>
  const T* operator()(const std::vector<T>& v) {
    return static_cast<const T*>(place(const_cast<T*>(v.data()), v.size() * sizeof(T), false));
  }

 private:
  struct Mirror {
    void* host;
    void* device;
    size_t bytes;
    bool copy_back;
  };
  void* place(void* host, size_t bytes, bool copy_back) {
    if (backend_ != Backend::cuda) return host;
    for (Mirror& m : mirrors_)
      if (m.host == host && m.bytes == bytes) {
        m.copy_back = m.copy_back || copy_back;
        return m.device;
      }
    void* device = device_memory::allocate(Device::cuda(), bytes);
    device_memory::copy(device, Device::cuda(), host, Device::cpu(), bytes);
    mirrors_.push_back({host, device, bytes, copy_back});
    return device;
  }
  Backend backend_;
  std::vector<Mirror> mirrors_;
};

// Runs check(backend) for the emulator, and for the GPU when there is one;
// otherwise says that the native comparison was skipped.
template <class Check>
void for_each_cuda_backend(Check check) {
  {
    INFO("backend: " << backend_name(Backend::emu));
    check(Backend::emu);
  }
  if (cuda_device_count() > 0 && kNativeKernels) {
    INFO("backend: " << backend_name(Backend::cuda));
    check(Backend::cuda);
  } else {
    WARN("native CUDA comparison skipped: "
         << (cuda_device_count() == 0 ? cuda_unavailable_reason() : "built without TIMBRE_CUDA_KERNELS"));
  }
}

template <class T>
std::vector<T> random_vector(size_t n, uint64_t seed, double lo = -1, double hi = 1) {
  Generator g(seed);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(g.uniform(lo, hi));
  return v;
}

template <class T>
constexpr double rtol() {
  return std::is_same_v<T, float> ? 2e-5 : 1e-12;
}

// Every element within tol * (1 + |expected|), or NaN where the CPU has NaN (untouched
// NaN-filled padding); reports the first mismatches.
template <class T>
void expect_close(const std::vector<T>& expected, const std::vector<T>& actual, const std::string& what,
                  double tol = rtol<T>()) {
  REQUIRE(expected.size() == actual.size());
  std::ostringstream report;
  int bad = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double e = expected[i], a = actual[i];
    if (std::isnan(e) && std::isnan(a)) continue;
    if (!(std::abs(e - a) <= tol * (1 + std::abs(e)))) {
      if (bad < 5) report << "  [" << i << "] expected " << e << ", got " << a << "\n";
      ++bad;
    }
  }
  INFO(what << ": " << bad << " of " << expected.size() << " elements differ\n" << report.str());
  CHECK(bad == 0);
}

}  // namespace

// ---------------------------------------------------------------- memory

TEMPLATE_TEST_CASE("cuda fill, axpy and copy_block match the CPU", "[cuda]", float, double) {
  using T = TestType;
  const int64_t n = 5003;  // not a multiple of the block size
  const auto x = random_vector<T>(n, 1), y0 = random_vector<T>(n, 2);
  for_each_cuda_backend([&](Backend be) {
    auto run = [&](Backend b) {
      std::vector<T> filled(n), y = y0, block = y0;
      {
        Memory mem(b);
        CALL(b, fill<T>, n, T(0.25), mem(filled));
        CALL(b, axpy<T>, n, T(-1.5), mem(x), mem(y));
        // A 7 x 9 block of x (stride 11) into `block` at stride 13, then another added at an offset.
        T* dst = mem(block);
        CALL(b, copy_block<T>, 7, 9, mem(x), 11, dst, 13, false);
        CALL(b, copy_block<T>, 7, 9, mem(x) + 3, 11, dst + 100, 13, true);
      }
      return std::vector<std::vector<T>>{filled, y, block};
    };
    const auto expected = run(Backend::cpu), actual = run(be);
    expect_close(expected[0], actual[0], "fill");
    expect_close(expected[1], actual[1], "axpy");
    expect_close(expected[2], actual[2], "copy_block");
  });
}

// ---------------------------------------------------------------- gemm

TEMPLATE_TEST_CASE("cuda gemm matches the CPU for every transpose, odd sizes, alpha and beta", "[cuda]", float,
                   double) {
  using T = TestType;
  struct Case {
    int64_t m, n, k;
    T beta;
  };
  for (const Case& c : {Case{67, 45, 33, 0}, Case{1, 70, 129, 1.25}, Case{130, 3, 17, -0.5}, Case{5, 6, 0, 2}}) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      // Leading dimensions wider than the rows, to catch stride mix-ups.
      const int64_t lda = (ta ? c.m : c.k) + 3, ldb = (tb ? c.k : c.n) + 2, ldc = c.n + 5;
      const auto a = random_vector<T>((ta ? c.k : c.m) * lda, 10 + t);
      const auto b = random_vector<T>((tb ? c.n : c.k) * ldb, 20 + t);
      auto c0 = random_vector<T>(c.m * ldc, 30 + t);
      // With beta 0, C may hold garbage: NaN must not leak into the result.
      if (c.beta == T(0)) c0.assign(c0.size(), std::numeric_limits<T>::quiet_NaN());
      for_each_cuda_backend([&](Backend be) {
        auto run = [&](Backend backend) {
          std::vector<T> out = c0;
          {
            Memory mem(backend);
            CALL(backend, gemm<T>, ta, tb, c.m, c.n, c.k, T(0.75), mem(a), lda, mem(b), ldb, c.beta, mem(out), ldc);
          }
          return out;
        };
        INFO("m " << c.m << " n " << c.n << " k " << c.k << " trans_a " << ta << " trans_b " << tb);
        expect_close(run(Backend::cpu), run(be), "gemm");
      });
    }
  }
}

// ---------------------------------------------------------------- dense

TEMPLATE_TEST_CASE("cuda dense forward and backward match the CPU", "[cuda]", float, double) {
  using T = TestType;
  const int64_t rows = 37, in = 29, out = 13;
  const auto x = random_vector<T>(rows * in, 1), w = random_vector<T>(in * out, 2), b = random_vector<T>(out, 3);
  const auto gy = random_vector<T>(rows * out, 4);
  // Gradients start non-zero: backward must add into them.
  const auto gx0 = random_vector<T>(rows * in, 5), gw0 = random_vector<T>(in * out, 6),
             gb0 = random_vector<T>(out, 7);
  for (const bool with_bias : {true, false})
    for_each_cuda_backend([&](Backend be) {
      auto run = [&](Backend backend) {
        std::vector<T> y(rows * out), gx = gx0, gw = gw0, gb = gb0;
        {
          Memory mem(backend);
          CALL(backend, dense_forward<T>, rows, in, out, mem(x), mem(w), with_bias ? mem(b) : nullptr, mem(y));
          CALL(backend, dense_backward<T>, rows, in, out, mem(x), mem(w), mem(gy), mem(gx), mem(gw),
               with_bias ? mem(gb) : nullptr);
        }
        return std::vector<std::vector<T>>{y, gx, gw, gb};
      };
      const auto expected = run(Backend::cpu), actual = run(be);
      INFO("bias " << with_bias);
      for (size_t i = 0; i < expected.size(); ++i)
        expect_close(expected[i], actual[i], std::vector<std::string>{"y", "gx", "gw", "gb"}[i]);
    });
}

// ---------------------------------------------------------------- conv2d

TEMPLATE_TEST_CASE("cuda conv2d forward and backward match the CPU", "[cuda]", float, double) {
  using T = TestType;
  // batch, in_h, in_w, in_c, out_h, out_w, out_c, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left
  const k::Conv2dGeometry geometries[] = {
      {3, 9, 11, 3, 5, 10, 5, 3, 2, 2, 1, 1, 0},  // strided rows, padding above and below
      {2, 6, 7, 4, 6, 7, 3, 3, 3, 1, 1, 1, 1},    // "same"
      {1, 5, 5, 2, 5, 5, 33, 1, 1, 1, 1, 0, 0},   // 1x1, more channels than a warp
  };
  for (const auto& g : geometries) {
    const int64_t xn = g.batch * g.in_h * g.in_w * g.in_c, wn = g.kernel_h * g.kernel_w * g.in_c * g.out_c,
                  yn = g.batch * g.out_h * g.out_w * g.out_c;
    const auto x = random_vector<T>(xn, 1), w = random_vector<T>(wn, 2), b = random_vector<T>(g.out_c, 3);
    const auto gy = random_vector<T>(yn, 4), gx0 = random_vector<T>(xn, 5), gw0 = random_vector<T>(wn, 6),
               gb0 = random_vector<T>(g.out_c, 7);
    for_each_cuda_backend([&](Backend be) {
      auto run = [&](Backend backend) {
        std::vector<T> y(yn), gx = gx0, gw = gw0, gb = gb0;
        {
          Memory mem(backend);
          CALL(backend, conv2d_forward<T>, g, mem(x), mem(w), mem(b), mem(y));
          CALL(backend, conv2d_backward<T>, g, mem(x), mem(w), mem(gy), mem(gx), mem(gw), mem(gb));
        }
        return std::vector<std::vector<T>>{y, gx, gw, gb};
      };
      const auto expected = run(Backend::cpu), actual = run(be);
      INFO("conv " << g.in_h << "x" << g.in_w << "x" << g.in_c << " kernel " << g.kernel_h << "x" << g.kernel_w);
      for (size_t i = 0; i < expected.size(); ++i)
        expect_close(expected[i], actual[i], std::vector<std::string>{"y", "gx", "gw", "gb"}[i]);
    });
  }
}

// ---------------------------------------------------------------- conv2d_pool

TEMPLATE_TEST_CASE("cuda conv2d_pool forward and backward match the CPU, ties included", "[cuda]", float, double) {
  using T = TestType;
  // conv: batch, in_h, in_w, in_c, out_h, out_w, out_c, kernel_h, kernel_w, stride 1, 1, pad_top, pad_left;
  // then pool_h, pool_w, out_h, out_w
  const k::ConvPoolGeometry geometries[] = {
      {{2, 21, 19, 1, 14, 12, 3, 8, 8, 1, 1, 0, 0}, 4, 4, 3, 3},  // P1.1: 3@8x8, pool 4, rows and columns left over
      {{2, 9, 10, 3, 9, 10, 5, 4, 4, 1, 1, 1, 1}, 2, 2, 4, 5},    // "same" 4x4: one row/column before, two after
      {{1, 8, 7, 2, 6, 6, 5, 3, 2, 1, 1, 0, 0}, 2, 1, 3, 6},      // pool 2x1
      {{2, 11, 10, 3, 11, 10, 9, 3, 3, 1, 1, 1, 1}, 3, 3, 3, 3},  // "same" 3x3, pool 3, more channels than a block
  };
  for (const auto& g : geometries) {
    const k::Conv2dGeometry& c = g.conv;
    const int64_t xn = c.batch * c.in_h * c.in_w * c.in_c, wn = c.kernel_h * c.kernel_w * c.in_c * c.out_c,
                  yn = c.batch * g.out_h * g.out_w * c.out_c;
    // Small integers and halves: every backend's convolution is exact, and windows
    // have tied maxima (and zeros), whose argmax must be the first in row-major order.
    auto coarse = [](std::vector<T> v, T step) {
      for (T& e : v) e = std::floor(e) * step;
      return v;
    };
    const auto x = coarse(random_vector<T>(xn, 1, -3, 4), 1), w = coarse(random_vector<T>(wn, 2, -2, 3), 0.5),
               b = coarse(random_vector<T>(c.out_c, 3, -2, 3), 0.5);
    const auto gy = random_vector<T>(yn, 4), gx0 = random_vector<T>(xn, 5), gw0 = random_vector<T>(wn, 6),
               gb0 = random_vector<T>(c.out_c, 7);
    for (const T alpha : {T(0), T(0.3), T(1)})
      for_each_cuda_backend([&](Backend be) {
        auto run = [&](Backend backend) {
          // Backward adds into gradients that start non-zero; a second forward without
          // argmax and a backward with gx alone check that null outputs are skipped.
          std::vector<T> y(yn), argmax(yn), gx = gx0, gw = gw0, gb = gb0, y_alone(yn), gx_alone = gx0;
          {
            Memory mem(backend);
            CALL(backend, conv2d_pool_forward<T>, g, alpha, mem(x), mem(w), mem(b), mem(y), mem(argmax));
            CALL(backend, conv2d_pool_backward<T>, g, alpha, mem(x), mem(w), mem(y),
                 mem(argmax), mem(gy), mem(gx), mem(gw), mem(gb));
            CALL(backend, conv2d_pool_forward<T>, g, alpha, mem(x), mem(w), nullptr, mem(y_alone), nullptr);
            CALL(backend, conv2d_pool_backward<T>, g, alpha, mem(x), mem(w), mem(y),
                 mem(argmax), mem(gy), mem(gx_alone), nullptr, nullptr);
          }
          return std::vector<std::vector<T>>{y, argmax, gx, gw, gb, y_alone, gx_alone};
        };
        const auto expected = run(Backend::cpu), actual = run(be);
        INFO("input " << c.in_h << "x" << c.in_w << "x" << c.in_c << " kernel " << c.kernel_h << "x" << c.kernel_w
                      << " pool " << g.pool_h << "x" << g.pool_w << " alpha " << alpha);
        const char* names[] = {"y", "argmax", "gx", "gw", "gb", "y without bias or argmax", "gx alone"};
        for (size_t i = 0; i < expected.size(); ++i) expect_close(expected[i], actual[i], names[i]);
      });
  }
}

// ---------------------------------------------------------------- maxpool2d

TEMPLATE_TEST_CASE("cuda maxpool2d forward and backward match the CPU, ties included", "[cuda]", float, double) {
  using T = TestType;
  // batch, in_h, in_w, channels, out_h, out_w, pool_h, pool_w, stride_h, stride_w
  const k::Pool2dGeometry geometries[] = {
      {2, 7, 9, 3, 3, 4, 2, 2, 2, 2},  // leftover rows and columns
      {2, 9, 8, 5, 4, 3, 3, 3, 2, 2},  // overlapping windows
      {1, 4, 6, 2, 2, 6, 2, 1, 2, 1},  // pool 2x1
  };
  for (const auto& g : geometries) {
    const int64_t xn = g.batch * g.in_h * g.in_w * g.channels, yn = g.batch * g.out_h * g.out_w * g.channels;
    // Few distinct values, so windows have tied maxima: the gradient must go to the first.
    std::vector<T> x = random_vector<T>(xn, 1, 0, 4);
    for (T& v : x) v = std::floor(v);
    const auto gy = random_vector<T>(yn, 2), gx0 = random_vector<T>(xn, 3);
    for_each_cuda_backend([&](Backend be) {
      auto run = [&](Backend backend) {
        std::vector<T> y(yn), argmax(yn), gx = gx0;
        {
          Memory mem(backend);
          CALL(backend, maxpool2d_forward<T>, g, mem(x), mem(y), mem(argmax));
          CALL(backend, maxpool2d_backward<T>, g, mem(argmax), mem(gy), mem(gx));
        }
        return std::vector<std::vector<T>>{y, argmax, gx};
      };
      const auto expected = run(Backend::cpu), actual = run(be);
      INFO("pool " << g.pool_h << "x" << g.pool_w << " stride " << g.stride_h << "x" << g.stride_w);
      expect_close(expected[0], actual[0], "y");
      expect_close(expected[1], actual[1], "argmax");
      expect_close(expected[2], actual[2], "gx");
    });
  }
}

// ---------------------------------------------------------------- batchnorm

TEMPLATE_TEST_CASE("cuda batchnorm training and inference, forward and backward, match the CPU", "[cuda]", float,
                   double) {
  using T = TestType;
  // Rows over two reduction chunks, channels over two blocks of 32.
  const k::BatchNormGeometry g{1100, 37};
  const int64_t n = g.rows * g.channels, C = g.channels;
  const auto x = random_vector<T>(n, 1, 20, 26);  // far from zero, as dB features are
  const auto gamma = random_vector<T>(C, 2, 0.5, 1.5), beta = random_vector<T>(C, 3);
  const auto moving_mean0 = random_vector<T>(C, 4), moving_var0 = random_vector<T>(C, 5, 0.5, 2);
  const auto gy = random_vector<T>(n, 6), gx0 = random_vector<T>(n, 7), ggamma0 = random_vector<T>(C, 8),
             gbeta0 = random_vector<T>(C, 9);
  const T eps = T(1e-3), momentum = T(0.99);
  for_each_cuda_backend([&](Backend be) {
    auto run = [&](Backend backend) {
      std::vector<T> y(n), mean(C), inv_std(C), moving_mean = moving_mean0, moving_var = moving_var0;
      std::vector<T> gx = gx0, ggamma = ggamma0, gbeta = gbeta0, y_infer(n), gx_infer = gx0, ggamma_infer = ggamma0,
                     gbeta_infer = gbeta0;
      {
        Memory mem(backend);
        CALL(backend, batchnorm_forward_train<T>, g, eps, momentum, mem(x), mem(gamma), mem(beta), mem(y), mem(mean),
             mem(inv_std), mem(moving_mean), mem(moving_var));
        CALL(backend, batchnorm_backward_train<T>, g, mem(x), mem(gamma), mem(mean), mem(inv_std), mem(gy), mem(gx),
             mem(ggamma), mem(gbeta));
        CALL(backend, batchnorm_forward_infer<T>, g, eps, mem(x), mem(gamma), mem(beta), mem(moving_mean0),
             mem(moving_var0), mem(y_infer));
        CALL(backend, batchnorm_backward_infer<T>, g, eps, mem(x), mem(gamma), mem(moving_mean0), mem(moving_var0),
             mem(gy), mem(gx_infer), mem(ggamma_infer), mem(gbeta_infer));
      }
      return std::vector<std::vector<T>>{y,          mean,    inv_std,      moving_mean, moving_var, gx,
                                         ggamma,     gbeta,   y_infer,      gx_infer,    ggamma_infer,
                                         gbeta_infer};
    };
    const auto expected = run(Backend::cpu), actual = run(be);
    const char* names[] = {"y",      "mean",    "inv_std",  "moving_mean",  "moving_var",  "gx",
                           "ggamma", "gbeta",   "y (infer)", "gx (infer)", "ggamma (infer)", "gbeta (infer)"};
    for (size_t i = 0; i < expected.size(); ++i) expect_close(expected[i], actual[i], names[i], 10 * rtol<T>());
  });
}

TEMPLATE_TEST_CASE("cuda batchnorm_pool training forward and backward match the CPU, ties included", "[cuda]",
                   float, double) {
  using T = TestType;
  // batch, in_h, in_w, channels, out_h, out_w, pool_h, pool_w, stride_h, stride_w (= pool)
  const k::Pool2dGeometry geometries[] = {
      {2, 9, 10, 8, 4, 5, 2, 2, 2, 2},      // a row left over
      {3, 8, 8, 6, 4, 4, 2, 2, 2, 2},       // whole windows
      {2, 7, 9, 3, 2, 4, 3, 2, 3, 2},       // pool 3x2, a row and a column left over
      {3, 26, 25, 37, 13, 12, 2, 2, 2, 2},  // statistics over several reduction chunks, channels over two blocks
  };
  const T eps = T(1e-3), momentum = T(0.99);
  for (const auto& g : geometries) {
    const int64_t C = g.channels, xn = g.batch * g.in_h * g.in_w * C, yn = g.batch * g.out_h * g.out_w * C;
    // Random values, and small integers whose windows have tied maxima (exactly equal
    // normalised values on every backend): the first in row-major order must win.
    std::vector<T> tied = random_vector<T>(xn, 1, 0, 4);
    for (T& v : tied) v = std::floor(v);
    const std::vector<T> inputs[] = {random_vector<T>(xn, 2, -2, 3), tied};
    auto gamma = random_vector<T>(C, 3, 0.5, 1.5);
    gamma[1] = T(-0.8);  // a negative scale: the window's maximum is its smallest x
    const auto beta = random_vector<T>(C, 4), moving_mean0 = random_vector<T>(C, 5),
               moving_var0 = random_vector<T>(C, 6, 0.5, 2);
    const auto gy = random_vector<T>(yn, 7), gx0 = random_vector<T>(xn, 8), ggamma0 = random_vector<T>(C, 9),
               gbeta0 = random_vector<T>(C, 10);
    for (size_t input = 0; input < 2; ++input)
      for (const T alpha : {T(0), T(0.3), T(1)})
        for_each_cuda_backend([&](Backend be) {
          const std::vector<T>& x = inputs[input];
          auto run = [&](Backend backend) {
            // Backward adds into gradients that start non-zero. A second forward without
            // moving statistics or argmax, and backwards with gx alone and without gx,
            // check that null outputs are skipped.
            std::vector<T> y(yn), argmax(yn), mean(C), inv_std(C), moving_mean = moving_mean0,
                moving_var = moving_var0, y_alone(yn), mean_alone(C), inv_std_alone(C), gx = gx0, ggamma = ggamma0,
                gbeta = gbeta0, gx_alone = gx0, ggamma_alone = ggamma0, gbeta_alone = gbeta0;
            {
              Memory mem(backend);
              CALL(backend, batchnorm_pool_forward_train<T>, g, eps, momentum, alpha, mem(x), mem(gamma), mem(beta),
                   mem(y), mem(argmax), mem(mean), mem(inv_std), mem(moving_mean), mem(moving_var));
              CALL(backend, batchnorm_pool_forward_train<T>, g, eps, momentum, alpha, mem(x), mem(gamma), mem(beta),
                   mem(y_alone), nullptr, mem(mean_alone), mem(inv_std_alone), nullptr, nullptr);
              CALL(backend, batchnorm_pool_backward_train<T>, g, alpha, mem(x), mem(gamma), mem(mean), mem(inv_std),
                   mem(y), mem(argmax), mem(gy), mem(gx), mem(ggamma), mem(gbeta));
              CALL(backend, batchnorm_pool_backward_train<T>, g, alpha, mem(x), mem(gamma), mem(mean), mem(inv_std),
                   mem(y), mem(argmax), mem(gy), mem(gx_alone), nullptr, nullptr);
              CALL(backend, batchnorm_pool_backward_train<T>, g, alpha, mem(x), mem(gamma), mem(mean), mem(inv_std),
                   mem(y), mem(argmax), mem(gy), nullptr, mem(ggamma_alone), mem(gbeta_alone));
            }
            return std::vector<std::vector<T>>{y,       argmax,        mean,     inv_std,      moving_mean,
                                               moving_var, y_alone,    mean_alone, inv_std_alone, gx,
                                               ggamma,  gbeta,         gx_alone, ggamma_alone, gbeta_alone};
          };
          const auto expected = run(Backend::cpu), actual = run(be);
          INFO("input " << g.batch << "x" << g.in_h << "x" << g.in_w << "x" << C << " pool " << g.pool_h << "x"
                        << g.pool_w << (input ? ", integers (ties)" : ", random") << ", alpha " << alpha);
          const char* names[] = {"y",          "argmax",
                                 "mean",       "inv_std",
                                 "moving_mean", "moving_var",
                                 "y without moving statistics or argmax", "mean (second forward)",
                                 "inv_std (second forward)", "gx",
                                 "ggamma",     "gbeta",
                                 "gx alone",   "ggamma without gx",
                                 "gbeta without gx"};
          for (size_t i = 0; i < expected.size(); ++i) expect_close(expected[i], actual[i], names[i], 10 * rtol<T>());
        });
  }
}

// ---------------------------------------------------------------- activations

TEMPLATE_TEST_CASE("cuda leaky_relu, sigmoid and tanh match the CPU", "[cuda]", float, double) {
  using T = TestType;
  const int64_t n = 1000 + 3;
  const auto x = random_vector<T>(n, 1, -4, 4), gy = random_vector<T>(n, 2), gx0 = random_vector<T>(n, 3);
  for_each_cuda_backend([&](Backend be) {
    auto run = [&](Backend backend) {
      std::vector<T> relu(n), leaky(n), sig(n), th(n), g_relu = gx0, g_leaky = gx0, g_sig = gx0, g_th = gx0;
      {
        Memory mem(backend);
        CALL(backend, leaky_relu_forward<T>, n, T(0), mem(x), mem(relu));
        CALL(backend, leaky_relu_backward<T>, n, T(0), mem(x), mem(gy), mem(g_relu));
        CALL(backend, leaky_relu_forward<T>, n, T(0.3), mem(x), mem(leaky));
        CALL(backend, leaky_relu_backward<T>, n, T(0.3), mem(x), mem(gy), mem(g_leaky));
        CALL(backend, sigmoid_forward<T>, n, mem(x), mem(sig));
        CALL(backend, sigmoid_backward<T>, n, mem(sig), mem(gy), mem(g_sig));
        CALL(backend, tanh_forward<T>, n, mem(x), mem(th));
        CALL(backend, tanh_backward<T>, n, mem(th), mem(gy), mem(g_th));
      }
      return std::vector<std::vector<T>>{relu, g_relu, leaky, g_leaky, sig, g_sig, th, g_th};
    };
    const auto expected = run(Backend::cpu), actual = run(be);
    const char* names[] = {"relu", "relu grad", "leaky_relu", "leaky_relu grad",
                           "sigmoid", "sigmoid grad", "tanh", "tanh grad"};
    for (size_t i = 0; i < expected.size(); ++i) expect_close(expected[i], actual[i], names[i]);
  });
}

TEMPLATE_TEST_CASE("cuda softmax forward and backward match the CPU", "[cuda]", float, double) {
  using T = TestType;
  for (const int64_t cols : {1, 7, 45, 100}) {
    const int64_t rows = 13, n = rows * cols;
    const auto x = random_vector<T>(n, cols, -6, 6), gy = random_vector<T>(n, 2), gx0 = random_vector<T>(n, 3);
    for_each_cuda_backend([&](Backend be) {
      auto run = [&](Backend backend) {
        std::vector<T> y(n), gx = gx0;
        {
          Memory mem(backend);
          CALL(backend, softmax_forward<T>, rows, cols, mem(x), mem(y));
          CALL(backend, softmax_backward<T>, rows, cols, mem(y), mem(gy), mem(gx));
        }
        return std::vector<std::vector<T>>{y, gx};
      };
      const auto expected = run(Backend::cpu), actual = run(be);
      INFO("cols " << cols);
      expect_close(expected[0], actual[0], "softmax");
      expect_close(expected[1], actual[1], "softmax grad");
    });
  }
}

// ---------------------------------------------------------------- dropout

TEMPLATE_TEST_CASE("cuda dropout draws the CPU's mask", "[cuda]", float, double) {
  using T = TestType;
  const int64_t n = 2049;
  const auto x = random_vector<T>(n, 1), gy = random_vector<T>(n, 2), gx0 = random_vector<T>(n, 3);
  for_each_cuda_backend([&](Backend be) {
    auto run = [&](Backend backend) {
      std::vector<T> y(n), gx = gx0;
      {
        Memory mem(backend);
        CALL(backend, dropout_forward<T>, n, T(0.3), uint64_t{77}, mem(x), mem(y));
        CALL(backend, dropout_backward<T>, n, T(0.3), uint64_t{77}, mem(gy), mem(gx));
      }
      return std::vector<std::vector<T>>{y, gx};
    };
    const auto expected = run(Backend::cpu), actual = run(be);
    CHECK(expected[0] == actual[0]);  // the same elements dropped, the same products kept
    // gx += gy * scale may round differently where one compiler fuses it into an FMA.
    expect_close(expected[1], actual[1], "dropout grad");
  });
}

// ---------------------------------------------------------------- loss

TEMPLATE_TEST_CASE("cuda softmax cross-entropy matches the CPU", "[cuda]", float, double) {
  using T = TestType;
  for (const int64_t classes : {10, 40}) {
    const int64_t rows = 11, n = rows * classes;
    const auto logits = random_vector<T>(n, 1, -8, 8), gx0 = random_vector<T>(n, 2);
    // One-hot rows, and one soft row whose targets sum to 0.8.
    std::vector<T> targets(n, T(0));
    for (int64_t r = 0; r < rows; ++r) targets[r * classes + (r * 7) % classes] = T(1);
    targets[3 * classes + 1] = T(0.5);
    targets[3 * classes + (21 % classes)] = T(0.3);
    for_each_cuda_backend([&](Backend be) {
      auto run = [&](Backend backend) {
        std::vector<T> probs(n), loss(rows), g = gx0;
        {
          Memory mem(backend);
          CALL(backend, softmax_cross_entropy_forward<T>, rows, classes, mem(logits), mem(targets), mem(probs),
               mem(loss));
          CALL(backend, softmax_cross_entropy_backward<T>, rows, classes, mem(probs), mem(targets), T(1.0 / rows),
               mem(g));
        }
        return std::vector<std::vector<T>>{probs, loss, g};
      };
      const auto expected = run(Backend::cpu), actual = run(be);
      INFO("classes " << classes);
      expect_close(expected[0], actual[0], "probs");
      expect_close(expected[1], actual[1], "loss");
      expect_close(expected[2], actual[2], "glogits");
    });
  }
}

// ---------------------------------------------------------------- normalization

TEMPLATE_TEST_CASE("cuda normalize forward and backward match the CPU", "[cuda]", float, double) {
  using T = TestType;
  const int64_t n = 1001;  // statistic s = (i / inner) % groups cycles through the elements
  const auto x = random_vector<T>(n, 1, -3, 3), gy = random_vector<T>(n, 2), gx0 = random_vector<T>(n, 3);
  for (const int64_t groups : {1, 7}) {
    const int64_t inner = groups == 1 ? 1 : 3;
    const auto mean = random_vector<T>(groups, 4);
    // One variance under eps^2, so the max(sqrt(variance), eps) floor is exercised.
    auto variance = random_vector<T>(groups, 5, 0.5, 2);
    variance[0] = T(1e-8);
    for_each_cuda_backend([&](Backend be) {
      auto run = [&](Backend backend) {
        std::vector<T> y(n), gx = gx0;
        {
          Memory mem(backend);
          CALL(backend, normalize_forward<T>, n, inner, groups, T(1e-3), mem(x), mem(mean), mem(variance), mem(y));
          CALL(backend, normalize_backward<T>, n, inner, groups, T(1e-3), mem(variance), mem(gy), mem(gx));
        }
        return std::vector<std::vector<T>>{y, gx};
      };
      const auto expected = run(Backend::cpu), actual = run(be);
      INFO("groups " << groups);
      expect_close(expected[0], actual[0], "normalize");
      expect_close(expected[1], actual[1], "normalize grad");
    });
  }
}

// ---------------------------------------------------------------- optimizers

TEMPLATE_TEST_CASE("cuda sgd and adam updates match the CPU", "[cuda]", float, double) {
  using T = TestType;
  const int64_t n = 777;
  const auto g = random_vector<T>(n, 1), w0 = random_vector<T>(n, 2), v0 = random_vector<T>(n, 3);
  const auto m0 = random_vector<T>(n, 4), second0 = random_vector<T>(n, 5, 0, 1);
  for_each_cuda_backend([&](Backend be) {
    auto run = [&](Backend backend) {
      std::vector<T> plain = w0, momentum = w0, nesterov = w0, v1 = v0, v2 = v0, adam = w0, m = m0, second = second0;
      {
        Memory mem(backend);
        CALL(backend, sgd_update<T>, n, T(0.1), T(0), false, mem(g), mem(plain), static_cast<T*>(nullptr));
        CALL(backend, sgd_update<T>, n, T(0.1), T(0.9), false, mem(g), mem(momentum), mem(v1));
        CALL(backend, sgd_update<T>, n, T(0.1), T(0.9), true, mem(g), mem(nesterov), mem(v2));
        CALL(backend, adam_update<T>, n, T(1e-3), T(0.9), T(0.999), T(1e-7), int64_t{3}, mem(g), mem(adam), mem(m),
             mem(second));
      }
      return std::vector<std::vector<T>>{plain, momentum, v1, nesterov, v2, adam, m, second};
    };
    const auto expected = run(Backend::cpu), actual = run(be);
    const char* names[] = {"sgd", "momentum w", "momentum v", "nesterov w", "nesterov v", "adam w", "adam m",
                           "adam v"};
    for (size_t i = 0; i < expected.size(); ++i) expect_close(expected[i], actual[i], names[i]);
  });
}

TEMPLATE_TEST_CASE("cuda clip_by_global_norm matches the CPU, above and below the bound", "[cuda]", float,
                   double) {
  using T = TestType;
  for (const int64_t n : {int64_t{1}, int64_t{777}, int64_t{70001}}) {
    const auto g0 = random_vector<T>(static_cast<size_t>(n), 6);
    double norm = 0;
    for (T v : g0) norm += static_cast<double>(v) * static_cast<double>(v);
    norm = std::sqrt(norm);
    for (const double bound : {0.5 * norm, 2 * norm}) {
      for_each_cuda_backend([&](Backend be) {
        auto run = [&](Backend backend) {
          std::vector<T> g = g0;
          {
            Memory mem(backend);
            CALL(backend, clip_by_global_norm<T>, n, T(bound), mem(g));
          }
          return g;
        };
        const std::vector<T> expected = run(Backend::cpu);
        INFO("n " << n << ", bound " << bound / norm << " x the norm");
        if (bound > norm) CHECK(expected == g0);
        else CHECK(expected[0] == Approx(g0[0] * bound / norm).epsilon(1e-5));
        expect_close(expected, run(be), "clipped gradients");
      });
    }
  }
}

// ---------------------------------------------------------------- lstm

TEMPLATE_TEST_CASE("cuda lstm forward and backward match the CPU, every direction and output mode", "[cuda]",
                   float, double) {
  using T = TestType;
  for (const bool return_sequences : {false, true})
    for (const bool go_backwards : {false, true}) {
      const k::LstmGeometry g{3, 5, 7, 6, return_sequences, go_backwards};
      const k::LstmLayout l = k::lstm_layout(g);
      const int64_t G = 4 * g.units, xn = g.batch * g.steps * g.features;
      const int64_t yn = g.batch * (return_sequences ? g.steps : 1) * g.units;
      const auto x = random_vector<T>(xn, 1), kernel = random_vector<T>(g.features * G, 2, -0.5, 0.5);
      const auto recurrent = random_vector<T>(g.units * G, 3, -0.5, 0.5), bias = random_vector<T>(G, 4);
      const auto gy = random_vector<T>(yn, 5), gx0 = random_vector<T>(xn, 6);
      const auto gk0 = random_vector<T>(g.features * G, 7), grk0 = random_vector<T>(g.units * G, 8),
                 gb0 = random_vector<T>(G, 9);
      for_each_cuda_backend([&](Backend be) {
        auto run = [&](Backend backend) {
          std::vector<T> y(yn), saved(l.saved_size), scratch(l.scratch_size), gx = gx0, gk = gk0, grk = grk0,
                                                                              gb = gb0;
          {
            Memory mem(backend);
            CALL(backend, lstm_forward<T>, g, mem(x), mem(kernel), mem(recurrent), mem(bias), mem(y), mem(saved));
            CALL(backend, lstm_backward<T>, g, mem(x), mem(kernel), mem(recurrent), mem(saved), mem(gy), mem(scratch),
                 mem(gx), mem(gk), mem(grk), mem(gb));
          }
          return std::vector<std::vector<T>>{y, saved, gx, gk, grk, gb};
        };
        const auto expected = run(Backend::cpu), actual = run(be);
        INFO("return_sequences " << return_sequences << " go_backwards " << go_backwards);
        const char* names[] = {"y", "saved", "gx", "gkernel", "grecurrent_kernel", "gbias"};
        for (size_t i = 0; i < expected.size(); ++i) expect_close(expected[i], actual[i], names[i], 10 * rtol<T>());
      });
    }
}

TEMPLATE_TEST_CASE("cuda reverse_steps matches the CPU", "[cuda]", float, double) {
  using T = TestType;
  const int64_t batch = 3, steps = 7, width = 5, n = batch * steps * width;
  const auto x = random_vector<T>(n, 1), y0 = random_vector<T>(n, 2);
  for_each_cuda_backend([&](Backend be) {
    auto run = [&](Backend backend) {
      std::vector<T> copied(n), added = y0;
      {
        Memory mem(backend);
        CALL(backend, reverse_steps<T>, batch, steps, width, mem(x), mem(copied), false);
        CALL(backend, reverse_steps<T>, batch, steps, width, mem(x), mem(added), true);
      }
      return std::vector<std::vector<T>>{copied, added};
    };
    const auto expected = run(Backend::cpu), actual = run(be);
    expect_close(expected[0], actual[0], "reversed");
    expect_close(expected[1], actual[1], "reversed and added");
  });
}

// ---------------------------------------------------------------- the emulator itself

namespace {
// Reverses each block's slice through shared memory: wrong without a working __syncthreads.
__global__ void reverse_in_block(const int* in, int* out) {
  __shared__ int tile[96];
  const int t = threadIdx.x, base = blockIdx.x * blockDim.x;
  tile[t] = in[base + t];
  __syncthreads();
  out[base + t] = tile[blockDim.x - 1 - t];
}

// Lane results of the four shuffles, each segment of `width` lanes on its own.
__global__ void shuffles(int width, int* down, int* up, int* xor_, int* broadcast) {
  const int t = threadIdx.x;
  down[t] = __shfl_down_sync(0xffffffffu, t, 3, width);
  up[t] = __shfl_up_sync(0xffffffffu, t, 2, width);
  xor_[t] = __shfl_xor_sync(0xffffffffu, t, 5, width);
  broadcast[t] = __shfl_sync(0xffffffffu, t * 10, 1, width);
}

__global__ void warp_sums(const double* in, double* out) {
  const double s = k::emu::warp_sum(in[threadIdx.x]);
  if (threadIdx.x % warpSize == 0) out[threadIdx.x / warpSize] = s;
}

__global__ void count_with_atomics(float* f, double* d) {
  atomicAdd(f, 1.0f);
  atomicAdd(d, 0.5);
}

// Lanes 0-15 wait at __syncthreads while lanes 16-31 of the same warp wait at a shuffle.
__global__ void divergent_barriers(int* out) {
  if (threadIdx.x < 16)
    __syncthreads();
  else
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1, 1);
}

// The last lane exits before a shuffle that reads it.
__global__ void shuffle_from_exited_lane(int* out) {
  if (threadIdx.x == 31) return;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1, 1);
}
}  // namespace

TEST_CASE("SIMT emulator: __syncthreads orders shared memory across a block", "[cuda][simt]") {
  std::vector<int> in(3 * 96), out(in.size(), -1);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i);
  k::emu::launch("reverse_in_block", reverse_in_block, 3, 96, 0, static_cast<const int*>(in.data()), out.data());
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < 96; ++t) CHECK(out[b * 96 + t] == b * 96 + 95 - t);
}

TEST_CASE("SIMT emulator: warp shuffles follow CUDA's lane rules", "[cuda][simt]") {
  for (const int width : {32, 8}) {
    std::vector<int> down(64), up(64), xor_(64), broadcast(64);
    k::emu::launch("shuffles", shuffles, 1, 64, 0, width, down.data(), up.data(), xor_.data(), broadcast.data());
    for (int t = 0; t < 64; ++t) {
      const int base = t / width * width;
      INFO("width " << width << " lane " << t);
      CHECK(down[t] == (t + 3 < base + width ? t + 3 : t));
      CHECK(up[t] == (t - 2 >= base ? t - 2 : t));
      CHECK(xor_[t] == ((t ^ 5) < base + width ? (t ^ 5) : t));
      CHECK(broadcast[t] == (base + 1) * 10);
    }
  }
  std::vector<double> in(64), out(2);
  for (int i = 0; i < 64; ++i) in[i] = i;
  k::emu::launch("warp_sums", warp_sums, 1, 64, 0, static_cast<const double*>(in.data()), out.data());
  CHECK(out[0] == 31 * 32 / 2);
  CHECK(out[1] == (63 * 64 - 31 * 32) / 2);
}

TEST_CASE("SIMT emulator: atomicAdd on float and double", "[cuda][simt]") {
  float f = 0;
  double d = 0;
  k::emu::launch("count_with_atomics", count_with_atomics, dim3(3, 2), dim3(50, 2), 0, &f, &d);
  CHECK(f == 600.0f);
  CHECK(d == 300.0);
}

TEST_CASE("SIMT emulator: bad launches and misused barriers raise timbre::Error", "[cuda][simt]") {
  std::vector<int> out(64);
  CHECK_THROWS_WITH(k::emu::launch("reverse_in_block", reverse_in_block, 1, 2048, 0,
                                   static_cast<const int*>(out.data()), out.data()),
                    Catch::Contains("reverse_in_block") && Catch::Contains("invalid block"));
  CHECK_THROWS_WITH(k::emu::launch("divergent_barriers", divergent_barriers, 1, 32, 0, out.data()),
                    Catch::Contains("deadlock"));
  CHECK_THROWS_WITH(k::emu::launch("shuffle_from_exited_lane", shuffle_from_exited_lane, 1, 32, 0, out.data()),
                    Catch::Contains("lane 31"));
  // The emulator recovers: a good launch still works after the failures.
  float f = 0;
  double d = 0;
  k::emu::launch("count_with_atomics", count_with_atomics, 1, 7, 0, &f, &d);
  CHECK(f == 7.0f);
}

// ---------------------------------------------------------------- devices

TEST_CASE("asking for a CUDA device without a GPU raises a clear timbre::Error", "[cuda]") {
  if (cuda_device_count() > 0) {
    CHECK(parse_device("cuda").is_cuda());
    CHECK_THROWS_AS(parse_device("cuda:99"), Error);
    WARN("a GPU is present: the no-GPU errors were not exercised");
    return;
  }
  const std::string reason = cuda_unavailable_reason();
  CHECK_FALSE(reason.empty());
  CHECK_THROWS_WITH(parse_device("cuda"), Catch::Contains("no GPU is usable") && Catch::Contains(reason));
  CHECK_THROWS_AS(parse_device("cuda:1"), Error);
  CHECK(parse_device("auto").is_cpu());
  CHECK_THROWS_AS(Tensor::zeros({2, 3}, DType::f32, Device::cuda()), Error);
}

TEST_CASE("device memory: pinned host buffers, and the caching allocator reuses released blocks", "[cuda]") {
  auto* pinned = static_cast<float*>(device_memory::allocate_pinned(1000 * sizeof(float)));
  for (int i = 0; i < 1000; ++i) pinned[i] = static_cast<float>(i);
  CHECK(pinned[999] == 999.0f);
  device_memory::release_pinned(pinned);
  if (cuda_device_count() == 0) {
    WARN("CUDA caching allocator not exercised: " << cuda_unavailable_reason());
    return;
  }
  device_memory::empty_cache();
  void* a = device_memory::allocate(Device::cuda(), 3000);
  device_memory::release(Device::cuda(), a);
  CHECK(device_memory::cached_bytes() >= 3000);
  void* b = device_memory::allocate(Device::cuda(), 2900);  // same size class: the same block
  CHECK(b == a);
  CHECK(device_memory::cached_bytes() == 0);
  device_memory::release(Device::cuda(), b);
  device_memory::empty_cache();
  CHECK(device_memory::cached_bytes() == 0);
}
