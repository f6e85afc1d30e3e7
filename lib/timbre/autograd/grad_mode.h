// Whether ops record autograd history. Off inside a NoGrad scope (inference).
#pragma once

namespace timbre::autograd {

inline bool& grad_enabled_flag() {
  thread_local bool enabled = true;
  return enabled;
}
inline bool grad_enabled() { return grad_enabled_flag(); }

// RAII scope in which no op records history: no saved activations, no grad_fn.
class NoGrad {
 public:
  NoGrad() : previous_(grad_enabled_flag()) { grad_enabled_flag() = false; }
  ~NoGrad() { grad_enabled_flag() = previous_; }
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

}  // namespace timbre::autograd

namespace timbre {
using autograd::NoGrad;
}
