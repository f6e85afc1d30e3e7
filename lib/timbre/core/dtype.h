// Element types: float32 for training, float64 for gradient checks.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

namespace timbre {

enum class DType { f32, f64 };

inline size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 8; }
inline std::string dtype_name(DType t) { return t == DType::f32 ? "float32" : "float64"; }

template <class T>
constexpr DType dtype_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "timbre tensors hold float or double");
  return std::is_same_v<T, float> ? DType::f32 : DType::f64;
}

// Calls fn(T{}) with T the C++ type of `t`: one body serves both precisions.
template <class Fn>
decltype(auto) visit_dtype(DType t, Fn&& fn) {
  if (t == DType::f32) return fn(float{});
  return fn(double{});
}

}  // namespace timbre
