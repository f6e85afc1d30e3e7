// Shape: the extents of a tensor, outermost first (Keras' channels-last order,
// e.g. (N, H, W, C) for images and (N, T, F) for sequences).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace timbre {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  int64_t rank() const { return static_cast<int64_t>(dims_.size()); }
  // Negative indices count from the end, as in Python.
  int64_t operator[](int64_t i) const { return dims_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
  int64_t& operator[](int64_t i) { return dims_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : dims_) n *= d;
    return n;
  }
  const std::vector<int64_t>& dims() const { return dims_; }
  auto begin() const { return dims_.begin(); }
  auto end() const { return dims_.end(); }

  // The shape without its first (batch) dimension, and the reverse.
  Shape drop_front() const { return Shape(std::vector<int64_t>(dims_.begin() + (dims_.empty() ? 0 : 1), dims_.end())); }
  Shape prepend(int64_t d) const {
    std::vector<int64_t> v{d};
    v.insert(v.end(), dims_.begin(), dims_.end());
    return Shape(std::move(v));
  }

  bool operator==(const Shape&) const = default;

  // "(128, 80, 80, 1)"; a leading -1 prints as None, as Keras prints the batch dimension.
  std::string str() const {
    std::string s = "(";
    for (size_t i = 0; i < dims_.size(); ++i) {
      if (i) s += ", ";
      s += dims_[i] < 0 ? "None" : std::to_string(dims_[i]);
    }
    if (dims_.size() == 1) s += ",";
    return s + ")";
  }

 private:
  std::vector<int64_t> dims_;
};

inline std::ostream& operator<<(std::ostream& out, const Shape& s) { return out << s.str(); }

}  // namespace timbre
