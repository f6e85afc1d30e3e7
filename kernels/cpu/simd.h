// Vectors of float or double through GCC/Clang vector extensions, as wide as
// one register of the target (64 bytes with AVX-512, 32 with AVX, else 16), so
// kernels written with them stay portable. A vector wider than the registers
// would compile to several, and register tiles sized for it would spill to the
// stack (the LSTM ran 15x slower on AVX2 so).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace timbre::kernels::cpu::simd {

// N lanes of T (N * sizeof(T) a power of two).
template <class T, int64_t N>
struct Lanes {
  typedef T type __attribute__((vector_size(N * sizeof(T))));
};
#if defined(__AVX512F__)
inline constexpr int64_t kVectorBytes = 64;
#elif defined(__AVX__)
inline constexpr int64_t kVectorBytes = 32;
#else
inline constexpr int64_t kVectorBytes = 16;
#endif
// Vector registers a register tile may fill: 32 with AVX-512 (and on AArch64), 16 with AVX or SSE on x86-64.
#if defined(__AVX512F__) || defined(__aarch64__)
inline constexpr int kRegisters = 32;
#else
inline constexpr int kRegisters = 16;
#endif

// The kernels' working vector: one register.
template <class T>
using Vec = typename Lanes<T, kVectorBytes / static_cast<int64_t>(sizeof(T))>::type;
template <class T>
inline constexpr int64_t kLanes = static_cast<int64_t>(sizeof(Vec<T>) / sizeof(T));

template <class T>
inline Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
inline void store(T* p, const Vec<T>& v) {
  std::memcpy(p, &v, sizeof v);
}

// The first `count` lanes from p (all of them when count == kLanes), the
// others zero: for the tail of a row.
template <class T>
inline Vec<T> load_upto(const T* p, int64_t count) {
  if (count == kLanes<T>) return load(p);
  Vec<T> v{};
  std::memcpy(&v, p, static_cast<size_t>(count) * sizeof(T));
  return v;
}

template <class T>
inline void store_upto(T* p, const Vec<T>& v, int64_t count) {
  if (count == kLanes<T>) return store(p, v);
  std::memcpy(p, &v, static_cast<size_t>(count) * sizeof(T));
}

// e^x in float lanes: x = n ln2 + r with |r| <= ln2/2, e^r by its Taylor
// polynomial to r^7 (truncation < 2e-9 relative), 2^n put into the exponent
// bits. x is clamped to [-87, 88], where 2^n stays a normal float.
inline Vec<float> exp(Vec<float> x) {
  typedef int32_t VecInt __attribute__((vector_size(kVectorBytes)));
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // Round x / ln2 to the nearest integer by adding and removing 1.5 * 2^23.
  const Vec<float> n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const Vec<float> r = (x - n * 0.693359375f) - n * -2.12194440e-4f;  // ln2 in two parts: r stays exact
  Vec<float> p = r * (1.0f / 5040) + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const VecInt bits = (__builtin_convertvector(n, VecInt) + 127) << 23;
  Vec<float> scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// The LSTM's gate functions. float: from exp above (absolute error ~1e-7);
// double (tests and gradient checks): the C library's, lane by lane.
inline Vec<float> sigmoid(Vec<float> x) { return 1.0f / (1.0f + exp(-x)); }
inline Vec<float> tanh(Vec<float> x) { return 1.0f - 2.0f / (exp(x + x) + 1.0f); }
inline Vec<double> sigmoid(Vec<double> x) {
  for (int64_t k = 0; k < kLanes<double>; ++k) x[k] = 1.0 / (1.0 + std::exp(-x[k]));
  return x;
}
inline Vec<double> tanh(Vec<double> x) {
  for (int64_t k = 0; k < kLanes<double>; ++k) x[k] = std::tanh(x[k]);
  return x;
}

}  // namespace timbre::kernels::cpu::simd
