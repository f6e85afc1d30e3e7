// timbre::Error and the checks that raise it. Every user-facing failure (bad
// shapes, bad settings, bad files, a missing GPU) is a timbre::Error whose
// message names the thing and what was expected.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace timbre {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}
}  // namespace detail

// Throws timbre::Error("<where>: <message pieces...>") when `condition` is false.
template <class... Args>
void check(bool condition, const std::string& where, Args&&... message) {
  if (!condition) throw Error(where + ": " + detail::concat(std::forward<Args>(message)...));
}

[[noreturn]] inline void fail(const std::string& message) { throw Error(message); }

}  // namespace timbre
