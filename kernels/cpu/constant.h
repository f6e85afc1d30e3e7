// Runtime sizes to compile-time ones: kernels keep tile sizes (rows, channels)
// as template parameters so that their accumulators live in registers, and a
// runtime count picks the instance.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace timbre::kernels::cpu {

// Calls f(std::integral_constant<int, K>{}) for K == k when 1 <= k <= Max; does nothing otherwise.
template <int Max, class F>
void with_constant(int64_t k, F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    ((k == I + 1 && (f(std::integral_constant<int, I + 1>{}), true)) || ...);
  }(std::make_integer_sequence<int, Max>{});
}

}  // namespace timbre::kernels::cpu
