// The op test driver: one engine that checks every op of the op table
// (kernels/ops.def) on every backend from cases the ops contribute, as ggml's
// test-backend-ops and PyTorch's OpInfo do. A case names its buffers (role,
// size, how to fill them) and calls its kernels through OP_CALL; the driver
// then, for each case:
// - runs it on the CPU in float64 (the reference), and checks that every
//   backward adds into its gradients rather than assigning them;
// - runs it on the CPU in float32, on the SIMT emulator (kernels::emu) in both
//   types, and natively on a GPU when one is usable, and compares every buffer
//   with the reference (tolerance per type);
// - pre-fills outputs and scratch with NaN, starts gradients non-zero, and
//   surrounds every buffer with sentinels that catch out-of-bounds writes;
// - for differentiable ops, checks the backward against float64 central
//   differences of the forward for a random upstream gradient.
// Failures come back as text that names the case's variables. The engine has
// no Catch2 in it: tests/test_op_driver.cpp runs it per op, bench/bench_ops.cpp
// times the cases marked `bench` (the seed models' shapes) with it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/emu/kernels.h"
#include "kernels/ops.h"

namespace timbre::testing::op_driver {

enum class Backend { cpu, emu, cuda };
const char* backend_name(Backend b);
// Whether this build and machine can run `b` (cuda: native kernels and a GPU).
bool backend_available(Backend b);

enum class Role {
  input,     // read only; compared afterwards to prove it untouched
  inout,     // starts filled, the kernels update it in place
  output,    // written by the forward (starts NaN)
  gradient,  // the gradient of an input (`of`): starts non-zero, backward adds into it
  upstream,  // the gradient of an output (`of`) handed to backward
  scratch,   // workspace: starts NaN, not compared
};

// How a buffer starts. Values are rounded to float once, so float and double
// runs start from the same numbers.
struct Fill {
  enum class Kind { uniform, integers, constant } kind = Kind::uniform;
  double lo = -1, hi = 1;  // uniform in [lo, hi); integers: floor of that, times `step`
  double step = 1;
  double value = 0;          // constant
  double min_magnitude = 0;  // uniform: |v| >= this (keeps inputs off kinks)
};
Fill uniform(double lo, double hi, double min_magnitude = 0);
Fill integers(double lo, double hi, double step = 1);  // ties and exact sums
Fill constant(double value);

struct Buffer {
  std::string name;
  int64_t size;
  Role role;
  Fill fill;
  std::string of;  // gradient: its input; upstream: its output
};

template <class T>
class Run;

// The kernels a case calls, written once as a generic lambda taking Run<T>&.
struct Calls {
  std::function<void(Run<float>&)> f32;
  std::function<void(Run<double>&)> f64;
  explicit operator bool() const { return static_cast<bool>(f64); }
};
template <class F>
Calls calls(F f) {
  return {std::function<void(Run<float>&)>(f), std::function<void(Run<double>&)>(f)};
}

struct Case {
  kernels::Op op;
  std::string label;  // the case's variables, printed with every failure
  std::vector<Buffer> buffers;
  Calls forward, backward;      // backward may be empty (ops of kind plain)
  double f32_tolerance = 1e-4;  // relative to 1 + |reference|
  double f64_tolerance = 1e-11;
  double gradcheck_step = 1e-6;  // wider where a kink is near
  bool gradcheck = true;         // for differentiable ops
  bool emulate = true;           // false: too large for the emulator (seed shapes)
  bool bench = false;            // a seed model's shape: bench/bench_ops.cpp times it
  uint64_t seed = 1;

  Case& in(std::string name, int64_t size, Fill fill = {}, std::string gradient = "");
  Case& inout(std::string name, int64_t size, Fill fill = {});
  Case& out(std::string name, int64_t size, std::string upstream = "", Fill upstream_fill = {});
  Case& scratch(std::string name, int64_t size);
};

// One run of a case on a backend in T: the buffers, and OP_CALL's target.
template <class T>
class Run {
 public:
  using Type = T;
  Run(const Case& c, Backend backend, const std::vector<std::vector<double>>& start);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  // The buffer's pointer on the backend's device.
  T* operator[](const std::string& name);
  // The buffer's starting value at `i`, on the host (scalars such as a loss scale).
  T start(const std::string& name, int64_t i = 0) const;
  void called(const char* kernel);
  // The buffers back on the host, sentinels checked ("" if intact).
  std::vector<std::vector<double>> results(std::string& sentinel_report);
  // Returns when the device has finished the kernels queued so far.
  void wait();
  const Backend backend;

 private:
  struct Slot;
  const Case& case_;
  std::vector<Slot> slots_;
};

// Runs a case's kernel: OP_CALL(run, conv2d_forward, args...) calls the
// backend's conv2d_forward<T> and records that the case covers it.
#ifdef TIMBRE_WITH_CUDA_KERNELS
#define OP_DRIVER_NATIVE(kernel, T, ...) ::timbre::kernels::cuda::kernel<T>(__VA_ARGS__)
#else
#define OP_DRIVER_NATIVE(kernel, T, ...) ::timbre::kernels::cuda_unavailable(#kernel)
#endif
#define OP_CALL(run, kernel, ...)                            \
  do {                                                       \
    using OpT_ = typename std::decay_t<decltype(run)>::Type; \
    switch ((run).backend) {                                 \
      case ::timbre::testing::op_driver::Backend::cpu:       \
        ::timbre::kernels::cpu::kernel<OpT_>(__VA_ARGS__);   \
        break;                                               \
      case ::timbre::testing::op_driver::Backend::emu:       \
        ::timbre::kernels::emu::kernel<OpT_>(__VA_ARGS__);   \
        break;                                               \
      case ::timbre::testing::op_driver::Backend::cuda:      \
        OP_DRIVER_NATIVE(kernel, OpT_, __VA_ARGS__);         \
        break;                                               \
    }                                                        \
    (run).called(#kernel);                                   \
  } while (0)

// Every op's cases: tests/op_driver/<kernel file>.cpp defines <op>_cases() for
// each op of the table (a missing one is a link error).
#define TIMBRE_OP(op, kind, ...) std::vector<Case> op##_cases();
#include "kernels/ops.def"
#undef TIMBRE_OP
std::vector<Case> cases_of(kernels::Op op);

struct Report {
  int checks = 0;  // comparisons made
  std::vector<std::string> failures;
  std::vector<std::string> skipped;  // backends not available, said once per case
  std::vector<std::string> kernels_called;
  bool gradchecked = false;
};
// Runs every check of one case on every available backend.
Report check_case(const Case& c);
// The kernels the case calls (one float64 run on the CPU), for the coverage test.
std::vector<std::string> kernels_called(const Case& c);
// Whether check_case gradient-checks the case.
bool gradient_checked(const Case& c);

// A case's buffers in float on `b`, kept allocated so that bench/bench_ops.cpp
// can time its forward and backward calls.
class Timing {
 public:
  Timing(const Case& c, Backend b);
  ~Timing();
  void forward();
  void backward();
  void wait();

 private:
  const Case& case_;
  std::unique_ptr<Run<float>> run_;
};

}  // namespace timbre::testing::op_driver
