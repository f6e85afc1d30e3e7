#include "op_driver/driver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "timbre/core/device.h"
#include "timbre/core/random.h"

namespace timbre::testing::op_driver {
namespace {

constexpr int64_t kPad = 16;            // sentinel elements before and after every buffer
constexpr double kSentinel = -7777.25;  // exact in float; no kernel writes it by chance
constexpr int kGradcheckSamples = 12;   // elements per gradient checked by finite differences
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

thread_local std::set<std::string>* kernels_seen = nullptr;

std::vector<double> start_of(const Buffer& b, uint64_t seed) {
  if (b.role == Role::output || b.role == Role::scratch) return std::vector<double>(b.size, kNaN);
  Generator g(seed);
  std::vector<double> v(b.size);
  for (double& x : v) {
    const Fill& f = b.fill;
    if (f.kind == Fill::Kind::constant) {
      x = f.value;
    } else if (f.kind == Fill::Kind::integers) {
      x = std::floor(g.uniform(f.lo, f.hi)) * f.step;
    } else {
      x = g.uniform(f.lo, f.hi);
      if (std::abs(x) < f.min_magnitude) x = x < 0 ? x - f.min_magnitude : x + f.min_magnitude;
    }
    x = static_cast<float>(x);  // float and double runs start from the same values
  }
  return v;
}

std::vector<std::vector<double>> start_values(const Case& c) {
  std::vector<std::vector<double>> start;
  for (size_t i = 0; i < c.buffers.size(); ++i) start.push_back(start_of(c.buffers[i], c.seed * 1000 + i));
  return start;
}

template <class T>
void call(const Calls& calls, Run<T>& run) {
  if constexpr (std::is_same_v<T, float>)
    calls.f32(run);
  else
    calls.f64(run);
}

template <class T>
std::vector<std::vector<double>> execute(const Case& c, Backend b, const std::vector<std::vector<double>>& start,
                                         bool with_backward, std::string& sentinels) {
  Run<T> run(c, b, start);
  call(c.forward, run);
  if (with_backward && c.backward) call(c.backward, run);
  return run.results(sentinels);
}

size_t index_of(const Case& c, const std::string& name) {
  for (size_t i = 0; i < c.buffers.size(); ++i)
    if (c.buffers[i].name == name) return i;
  throw std::logic_error("op driver: case '" + c.label + "' has no buffer '" + name + "'");
}

// The first mismatches of `actual` against `expected` (NaN matches NaN), or "".
std::string compare(const std::vector<double>& expected, const std::vector<double>& actual, double tol) {
  std::ostringstream report;
  int bad = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double e = expected[i], a = actual[i];
    if (std::isnan(e) && std::isnan(a)) continue;
    if (!(std::abs(e - a) <= tol * (1 + std::abs(e)))) {
      if (bad < 4) report << " [" << i << "] expected " << e << ", got " << a << ";";
      ++bad;
    }
  }
  if (bad == 0) return "";
  return std::to_string(bad) + " of " + std::to_string(expected.size()) + " elements differ:" + report.str();
}

std::string where(const Case& c, const char* backend, const char* type) {
  return std::string(kernels::op_name(c.op)) + " [" + c.label + "] on " + backend + " (" + type + "): ";
}

// <upstream, outputs> for the float64 reference forward from `start`.
double weighted_outputs(const Case& c, const std::vector<std::vector<double>>& start) {
  std::string sentinels;
  const auto r = execute<double>(c, Backend::cpu, start, false, sentinels);
  double sum = 0;
  for (size_t i = 0; i < c.buffers.size(); ++i) {
    const Buffer& b = c.buffers[i];
    if (b.role != Role::upstream) continue;
    const std::vector<double>& y = r[index_of(c, b.of)];
    for (size_t e = 0; e < y.size(); ++e) sum += start[i][e] * y[e];
  }
  return sum;
}

std::vector<std::vector<double>> with_zero_gradients(const Case& c, std::vector<std::vector<double>> start) {
  for (size_t i = 0; i < c.buffers.size(); ++i)
    if (c.buffers[i].role == Role::gradient) std::fill(start[i].begin(), start[i].end(), 0.0);
  return start;
}

// Backward against central differences of the forward, in float64.
void gradcheck(const Case& c, const std::vector<std::vector<double>>& start, Report& report) {
  std::string sentinels;
  const auto analytic = execute<double>(c, Backend::cpu, with_zero_gradients(c, start), true, sentinels);
  Generator pick(c.seed + 77);
  for (size_t gi = 0; gi < c.buffers.size(); ++gi) {
    const Buffer& grad = c.buffers[gi];
    if (grad.role != Role::gradient || grad.size == 0) continue;
    const size_t xi = index_of(c, grad.of);
    bool any_nonzero = false;
    std::ostringstream bad;
    for (int s = 0; s < kGradcheckSamples; ++s) {
      const int64_t e = s == 0 ? 0 : static_cast<int64_t>(pick.uniform(0, 1) * grad.size) % grad.size;
      auto plus = start, minus = start;
      plus[xi][e] += c.gradcheck_step;
      minus[xi][e] -= c.gradcheck_step;
      const double numeric = (weighted_outputs(c, plus) - weighted_outputs(c, minus)) / (2 * c.gradcheck_step);
      const double exact = analytic[gi][e];
      any_nonzero = any_nonzero || numeric != 0;
      ++report.checks;
      if (!(std::abs(numeric - exact) <= 1e-5 * (1 + std::abs(numeric))))
        bad << " [" << e << "] finite differences " << numeric << ", backward " << exact << ";";
    }
    if (!bad.str().empty()) report.failures.push_back(where(c, "cpu", "gradcheck") + grad.name + bad.str());
    if (!any_nonzero)
      report.failures.push_back(where(c, "cpu", "gradcheck") + grad.name +
                                ": every sampled finite difference is zero, so the check proves nothing");
  }
  report.gradchecked = true;
}

// The reference itself: inputs untouched, sentinels intact, gradients added into.
void check_reference(const Case& c, const std::vector<std::vector<double>>& start,
                     const std::vector<std::vector<double>>& expected, Report& report) {
  for (size_t i = 0; i < c.buffers.size(); ++i)
    if (c.buffers[i].role == Role::input && expected[i] != start[i])
      report.failures.push_back(where(c, "cpu", "float64") + "input " + c.buffers[i].name + " was written");
  if (!c.backward) return;
  std::string sentinels;
  const auto from_zero = execute<double>(c, Backend::cpu, with_zero_gradients(c, start), true, sentinels);
  for (size_t i = 0; i < c.buffers.size(); ++i) {
    if (c.buffers[i].role != Role::gradient) continue;
    std::vector<double> added(expected[i].size());
    for (size_t e = 0; e < added.size(); ++e) added[e] = expected[i][e] - from_zero[i][e];
    ++report.checks;
    if (const std::string diff = compare(start[i], added, 1e-9); !diff.empty())
      report.failures.push_back(where(c, "cpu", "float64") + "backward does not add into " + c.buffers[i].name + ": " +
                                diff);
  }
}

template <class T>
void check_backend(const Case& c, Backend b, const std::vector<std::vector<double>>& start,
                   const std::vector<std::vector<double>>& expected, Report& report) {
  const char* type = std::is_same_v<T, float> ? "float32" : "float64";
  const double tol = std::is_same_v<T, float> ? c.f32_tolerance : c.f64_tolerance;
  std::string sentinels;
  const auto actual = execute<T>(c, b, start, true, sentinels);
  if (!sentinels.empty()) report.failures.push_back(where(c, backend_name(b), type) + sentinels);
  for (size_t i = 0; i < c.buffers.size(); ++i) {
    if (c.buffers[i].role == Role::scratch) continue;
    ++report.checks;
    if (const std::string diff = compare(expected[i], actual[i], tol); !diff.empty())
      report.failures.push_back(where(c, backend_name(b), type) + c.buffers[i].name + ": " + diff);
  }
}

}  // namespace

const char* backend_name(Backend b) { return b == Backend::cpu ? "cpu" : b == Backend::emu ? "emulated CUDA" : "CUDA"; }

bool backend_available(Backend b) {
#ifdef TIMBRE_WITH_CUDA_KERNELS
  constexpr bool native = true;
#else
  constexpr bool native = false;
#endif
  return b != Backend::cuda || (native && cuda_device_count() > 0);
}

Fill uniform(double lo, double hi, double min_magnitude) {
  Fill f;
  f.lo = lo;
  f.hi = hi;
  f.min_magnitude = min_magnitude;
  return f;
}

Fill integers(double lo, double hi, double step) {
  Fill f = uniform(lo, hi);
  f.kind = Fill::Kind::integers;
  f.step = step;
  return f;
}

Fill constant(double value) {
  Fill f;
  f.kind = Fill::Kind::constant;
  f.value = value;
  return f;
}

Case& Case::in(std::string name, int64_t size, Fill fill, std::string gradient) {
  if (!gradient.empty()) buffers.push_back({gradient, size, Role::gradient, Fill{}, name});
  buffers.push_back({std::move(name), size, Role::input, fill, ""});
  return *this;
}

Case& Case::inout(std::string name, int64_t size, Fill fill) {
  buffers.push_back({std::move(name), size, Role::inout, fill, ""});
  return *this;
}

Case& Case::out(std::string name, int64_t size, std::string upstream, Fill upstream_fill) {
  if (!upstream.empty()) buffers.push_back({upstream, size, Role::upstream, upstream_fill, name});
  buffers.push_back({std::move(name), size, Role::output, Fill{}, ""});
  return *this;
}

Case& Case::scratch(std::string name, int64_t size) {
  buffers.push_back({std::move(name), size, Role::scratch, Fill{}, ""});
  return *this;
}

// ---------------------------------------------------------------- Run

template <class T>
struct Run<T>::Slot {
  std::vector<T> host;     // kPad sentinels, the buffer, kPad sentinels
  void* device = nullptr;  // the same on the GPU (Backend::cuda)
};

template <class T>
Run<T>::Run(const Case& c, Backend b, const std::vector<std::vector<double>>& start) : backend(b), case_(c) {
  for (size_t i = 0; i < c.buffers.size(); ++i) {
    Slot s;
    s.host.assign(start[i].size() + 2 * kPad, static_cast<T>(kSentinel));
    std::transform(start[i].begin(), start[i].end(), s.host.begin() + kPad, [](double v) { return static_cast<T>(v); });
    if (b == Backend::cuda) {
      const size_t bytes = s.host.size() * sizeof(T);
      s.device = device_memory::allocate(Device::cuda(), bytes);
      device_memory::copy(s.device, Device::cuda(), s.host.data(), Device::cpu(), bytes);
    }
    slots_.push_back(std::move(s));
  }
}

template <class T>
Run<T>::~Run() {
  for (Slot& s : slots_)
    if (s.device) device_memory::release(Device::cuda(), s.device);
}

template <class T>
T* Run<T>::operator[](const std::string& name) {
  Slot& s = slots_[index_of(case_, name)];
  return (s.device ? static_cast<T*>(s.device) : s.host.data()) + kPad;
}

template <class T>
T Run<T>::start(const std::string& name, int64_t i) const {
  return slots_[index_of(case_, name)].host[kPad + i];
}

template <class T>
void Run<T>::called(const char* kernel) {
  if (kernels_seen) kernels_seen->insert(kernel);
}

template <class T>
void Run<T>::wait() {
  // cudaMemcpy waits for the kernels before it on the default stream.
  if (backend != Backend::cuda || slots_.empty()) return;
  T first;
  device_memory::copy(&first, Device::cpu(), slots_[0].device, Device::cuda(), sizeof(T));
}

template <class T>
std::vector<std::vector<double>> Run<T>::results(std::string& sentinel_report) {
  std::vector<std::vector<double>> out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.device)
      device_memory::copy(s.host.data(), Device::cpu(), s.device, Device::cuda(), s.host.size() * sizeof(T));
    const auto body = s.host.begin() + kPad, end = s.host.end() - kPad;
    const auto intact = [](T v) { return v == static_cast<T>(kSentinel); };
    if (!std::all_of(s.host.begin(), body, intact) || !std::all_of(end, s.host.end(), intact))
      sentinel_report += "written out of bounds around " + case_.buffers[i].name + "; ";
    out.emplace_back(body, end);
  }
  return out;
}

template class Run<float>;
template class Run<double>;

// ---------------------------------------------------------------- checks

std::vector<Case> cases_of(kernels::Op op) {
  switch (op) {
#define TIMBRE_OP(name, kind, ...) \
  case kernels::Op::name:          \
    return name##_cases();
#include "kernels/ops.def"
#undef TIMBRE_OP
  }
  return {};
}

Report check_case(const Case& c) {
  Report report;
  std::set<std::string> seen;
  kernels_seen = &seen;
  const auto start = start_values(c);
  std::string sentinels;
  const auto expected = execute<double>(c, Backend::cpu, start, true, sentinels);
  if (!sentinels.empty()) report.failures.push_back(where(c, "cpu", "float64") + sentinels);
  check_reference(c, start, expected, report);
  check_backend<float>(c, Backend::cpu, start, expected, report);
  for (Backend b : {Backend::emu, Backend::cuda}) {
    if (b == Backend::emu && !c.emulate) continue;
    if (!backend_available(b)) {
      report.skipped.push_back(std::string(backend_name(b)) + ": " +
                               (cuda_device_count() == 0 ? cuda_unavailable_reason() : "no native CUDA kernels"));
      continue;
    }
    check_backend<float>(c, b, start, expected, report);
    check_backend<double>(c, b, start, expected, report);
  }
  if (gradient_checked(c)) gradcheck(c, start, report);
  kernels_seen = nullptr;
  report.kernels_called.assign(seen.begin(), seen.end());
  return report;
}

std::vector<std::string> kernels_called(const Case& c) {
  std::set<std::string> seen;
  kernels_seen = &seen;
  std::string sentinels;
  execute<double>(c, Backend::cpu, start_values(c), true, sentinels);
  kernels_seen = nullptr;
  return {seen.begin(), seen.end()};
}

bool gradient_checked(const Case& c) {
  return kernels::op_record(c.op).kind == kernels::OpKind::differentiable && c.gradcheck && c.backward;
}

Timing::Timing(const Case& c, Backend b) : case_(c), run_(std::make_unique<Run<float>>(c, b, start_values(c))) {}
Timing::~Timing() = default;
void Timing::forward() { case_.forward.f32(*run_); }
void Timing::backward() {
  if (case_.backward) case_.backward.f32(*run_);
}
void Timing::wait() { run_->wait(); }

}  // namespace timbre::testing::op_driver
