// NumPy arrays in and out without copies: an input array's buffer becomes a
// tensor's storage (the tensor holds a reference to the array), and a CPU
// tensor's storage becomes an output array's buffer (the array holds the storage).
#include <nanobind/stl/vector.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

#include "bindings.h"

namespace timbre::python {

namespace {

using AnyArray = nb::ndarray<nb::ro>;

std::string dtype_name(nb::dlpack::dtype t) {
  using Code = nb::dlpack::dtype_code;
  const char* kind = t.code == uint8_t(Code::Int)     ? "int"
                     : t.code == uint8_t(Code::UInt)  ? "uint"
                     : t.code == uint8_t(Code::Float) ? "float"
                     : t.code == uint8_t(Code::Bool)  ? "bool"
                     : t.code == uint8_t(Code::Complex) ? "complex"
                                                       : "other";
  return t.code == uint8_t(Code::Bool) ? kind : kind + std::to_string(t.bits);
}

std::string shape_text(const AnyArray& a) {
  std::vector<int64_t> dims;
  for (size_t i = 0; i < a.ndim(); ++i) dims.push_back(static_cast<int64_t>(a.shape(i)));
  return Shape(dims).str();
}

// Row-major without gaps (extents of 1 may have any stride, as NumPy allows).
bool c_contiguous(const AnyArray& a) {
  int64_t expected = 1;
  for (size_t i = a.ndim(); i-- > 0;) {
    if (a.shape(i) != 1 && a.stride(i) != expected) return false;
    expected *= static_cast<int64_t>(a.shape(i));
  }
  return true;
}

// A reference to the Python object that owns the memory, dropped under the GIL whichever thread releases it.
std::shared_ptr<const void> python_owner(nb::handle owner) {
  owner.inc_ref();
  return std::shared_ptr<const void>(owner.ptr(), [](const void* object) {
    if (!Py_IsInitialized()) return;  // the interpreter is gone, and the memory with it
    nb::gil_scoped_acquire gil;
    Py_DECREF(static_cast<PyObject*>(const_cast<void*>(object)));
  });
}

}  // namespace

Tensor wrap_array(nb::handle array, const std::string& what, bool allow_f64) {
  const std::string expected = allow_f64 ? "a C-contiguous float32 or float64 NumPy array" : "a C-contiguous float32 NumPy array";
  AnyArray a;
  if (!nb::try_cast(array, a, false))
    throw nb::type_error((what + ": expected " + expected + ", got " + nb::inst_name(array).c_str()).c_str());
  if (a.device_type() != nb::device::cpu::value)
    throw nb::type_error((what + ": expected " + expected + " in host memory, got an array on another device").c_str());
  const bool f32 = a.dtype() == nb::dtype<float>(), f64 = a.dtype() == nb::dtype<double>();
  if (!f32 && !(allow_f64 && f64))
    throw nb::type_error((what + ": expected " + expected + ", got " + dtype_name(a.dtype()) + " of shape " +
                          shape_text(a) + " (convert it with np.asarray(" + what + ", dtype=np.float32))")
                             .c_str());
  if (!c_contiguous(a))
    throw nb::value_error((what + ": expected " + expected + ", got a non-contiguous array of shape " + shape_text(a) +
                           " (copy it with np.ascontiguousarray(" + what + "))")
                              .c_str());
  std::vector<int64_t> dims;
  for (size_t i = 0; i < a.ndim(); ++i) dims.push_back(static_cast<int64_t>(a.shape(i)));
  return Tensor::wrap(const_cast<void*>(a.data()), Shape(dims), f32 ? DType::f32 : DType::f64, Device::cpu(),
                      python_owner(array));
}

Tensor wrap_batch(nb::handle array, const std::string& what, const Shape& sample) {
  const Tensor t = wrap_array(array, what);
  const Shape given = t.shape().drop_front();
  const bool channel_less = sample.rank() >= 2 && sample[-1] == 1 &&
                            given == Shape(std::vector<int64_t>(sample.begin(), sample.end() - 1));
  if (t.rank() >= 1 && (given == sample || channel_less)) return t.view(sample.prepend(t.dim(0)));
  throw nb::value_error((what + ": expected an array of shape " + sample.prepend(-1).str() + " (N samples of " +
                         sample.str() + "), got shape " + t.shape().str())
                            .c_str());
}

std::vector<int32_t> int_values(nb::handle array, const std::string& what, int64_t rows) {
  const std::string expected = what + ": expected " + std::to_string(rows) + " integer class indices, shape (" +
                               std::to_string(rows) + ",)";
  AnyArray a;
  if (!nb::try_cast(array, a, false)) throw nb::type_error((expected + ", got " + nb::inst_name(array).c_str()).c_str());
  const nb::dlpack::dtype t = a.dtype();
  const bool integer = t.code == uint8_t(nb::dlpack::dtype_code::Int) || t.code == uint8_t(nb::dlpack::dtype_code::UInt);
  if (!integer || a.device_type() != nb::device::cpu::value)
    throw nb::type_error((expected + ", got " + dtype_name(t) + " of shape " + shape_text(a) +
                          (t.code == uint8_t(nb::dlpack::dtype_code::Float) ? " (one-hot rows? give y.argmax(axis=1))" : ""))
                             .c_str());
  if (a.ndim() != 1 || static_cast<int64_t>(a.shape(0)) != rows)
    throw nb::value_error((expected + ", got shape " + shape_text(a)).c_str());
  const bool is_signed = t.code == uint8_t(nb::dlpack::dtype_code::Int);
  const size_t bytes = t.bits / 8;
  std::vector<int32_t> out(static_cast<size_t>(rows));
  const char* base = static_cast<const char*>(a.data());
  for (int64_t i = 0; i < rows; ++i) {
    const char* p = base + i * a.stride(0) * static_cast<int64_t>(bytes);
    int64_t v = 0;
    if (is_signed) {
      v = bytes == 1 ? *reinterpret_cast<const int8_t*>(p) : bytes == 2 ? *reinterpret_cast<const int16_t*>(p)
        : bytes == 4 ? *reinterpret_cast<const int32_t*>(p) : *reinterpret_cast<const int64_t*>(p);
    } else {
      v = bytes == 1 ? *reinterpret_cast<const uint8_t*>(p) : bytes == 2 ? *reinterpret_cast<const uint16_t*>(p)
        : bytes == 4 ? static_cast<int64_t>(*reinterpret_cast<const uint32_t*>(p))
                     : static_cast<int64_t>(*reinterpret_cast<const uint64_t*>(p));
    }
    if (v < INT32_MIN || v > INT32_MAX)
      throw nb::value_error((what + ": value " + std::to_string(v) + " at row " + std::to_string(i) + " is out of range").c_str());
    out[static_cast<size_t>(i)] = static_cast<int32_t>(v);
  }
  return out;
}

nb::ndarray<nb::numpy> to_numpy(const Tensor& t) {
  const Tensor host = t.to(Device::cpu());
  // The storage, not the tensor: an optimizer or a device move may rebind the tensor to other memory.
  auto* storage = new std::shared_ptr<Storage>(host.impl().storage);
  nb::capsule owner(storage, [](void* p) noexcept { delete static_cast<std::shared_ptr<Storage>*>(p); });
  std::vector<size_t> dims(host.shape().begin(), host.shape().end());
  return nb::ndarray<nb::numpy>(host.raw_data(), dims.size(), dims.data(), owner, nullptr,
                                host.dtype() == DType::f32 ? nb::dtype<float>() : nb::dtype<double>());
}

nb::tuple shape_tuple(const Shape& s) {
  nb::list dims;
  for (int64_t d : s) dims.append(d);
  return nb::tuple(dims);
}

Shape shape_of(nb::handle sequence, const std::string& what) {
  std::vector<int64_t> dims;
  if (!nb::try_cast(sequence, dims, true))
    throw nb::type_error((what + ": expected a shape (a tuple of ints), got " + nb::inst_name(sequence).c_str()).c_str());
  for (int64_t d : dims)
    if (d < 1) throw nb::value_error((what + ": extents must be positive, got " + Shape(dims).str()).c_str());
  return Shape(dims);
}

}  // namespace timbre::python
