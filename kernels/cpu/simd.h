// 64-byte vectors of float or double through GCC/Clang vector extensions: the
// compiler maps them to one AVX-512 register, or to several narrower ones on
// other targets, so kernels written with them stay portable.
#pragma once

#include <cstdint>
#include <cstring>

namespace timbre::kernels::cpu::simd {

template <class T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(64)));
};
template <class T>
using Vec = typename VecOf<T>::type;
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

}  // namespace timbre::kernels::cpu::simd
