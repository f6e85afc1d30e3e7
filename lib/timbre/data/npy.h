// NumPy .npy arrays and .npz archives (a zip of .npy members): reading and
// writing, little-endian, C order. Sizes and shapes read from a file are
// checked against the bytes present before anything is allocated.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "timbre/core/tensor.h"

namespace timbre::data {

enum class NpyDType { f32, f64, i32, i64, u8, boolean };

size_t npy_dtype_size(NpyDType dtype);
std::string npy_dtype_name(NpyDType dtype);  // "float32", "int64", "bool", ...

template <class T>
constexpr NpyDType npy_dtype_of() {
  if constexpr (std::is_same_v<T, float>) return NpyDType::f32;
  else if constexpr (std::is_same_v<T, double>) return NpyDType::f64;
  else if constexpr (std::is_same_v<T, int32_t>) return NpyDType::i32;
  else if constexpr (std::is_same_v<T, int64_t>) return NpyDType::i64;
  else if constexpr (std::is_same_v<T, uint8_t>) return NpyDType::u8;
  else {
    static_assert(std::is_same_v<T, bool>, "npy arrays hold float, double, int32, int64, uint8 or bool");
    return NpyDType::boolean;
  }
}

struct NpyArray {
  std::vector<int64_t> shape;
  NpyDType dtype = NpyDType::f32;
  std::vector<uint8_t> bytes;  // the values in C order, little-endian

  int64_t numel() const;
  // A float32 tensor of the same shape (values converted from any dtype).
  Tensor to_tensor() const;
  // The values as int64; floating values must be whole numbers.
  std::vector<int64_t> to_int64(const std::string& where = "NpyArray") const;

  // A copy of a CPU float32 or float64 tensor.
  static NpyArray from_tensor(const Tensor& tensor);
  template <class T>
  static NpyArray from_values(std::vector<int64_t> shape, const std::vector<T>& values) {
    NpyArray a;
    a.shape = std::move(shape);
    a.dtype = npy_dtype_of<T>();
    check(a.numel() == static_cast<int64_t>(values.size()), "NpyArray::from_values", "shape holds ", a.numel(),
          " values, got ", values.size());
    a.bytes.resize(values.size() * sizeof(T));
    for (size_t i = 0; i < values.size(); ++i) {
      const T v = values[i];  // vector<bool> has no data(): copy value by value
      std::memcpy(a.bytes.data() + i * sizeof(T), &v, sizeof(T));
    }
    return a;
  }
};

// .npy bytes <-> array; `where` names the source in errors.
NpyArray parse_npy(std::string_view file, const std::string& where);
std::string serialize_npy(const NpyArray& array);

NpyArray read_npy(const std::string& path);
void write_npy(const std::string& path, const NpyArray& array);  // atomically (temp file, rename)

// Members by name without the ".npy" suffix, as numpy.load names them.
// Stored and deflated members are read; writing stores members uncompressed.
std::map<std::string, NpyArray> read_npz(const std::string& path);
void write_npz(const std::string& path, const std::map<std::string, NpyArray>& arrays);

}  // namespace timbre::data
