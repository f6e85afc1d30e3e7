// Tensor: a shaped view of reference-counted device memory, plus the autograd
// links (requires_grad, grad, grad_fn). Storage is contiguous, row-major, in
// Keras' channels-last order; CPU memory is 64-byte aligned. Copying a Tensor
// copies a handle: both refer to the same data, as in PyTorch.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "timbre/core/device.h"
#include "timbre/core/dtype.h"
#include "timbre/core/error.h"
#include "timbre/core/shape.h"

namespace timbre {

namespace autograd {
class Node;
}

class Storage {
 public:
  Storage(size_t bytes, Device device)
      : device_(device), bytes_(bytes), data_(device_memory::allocate(device, bytes)) {}
  // Memory owned elsewhere (a NumPy array's buffer): `owner` (not null) keeps it
  // alive as long as this storage, and it is never released here.
  Storage(void* data, size_t bytes, Device device, std::shared_ptr<const void> owner)
      : device_(device), bytes_(bytes), data_(data), owner_(std::move(owner)) {
    check(owner_ != nullptr, "Storage", "memory owned elsewhere needs its owner");
  }
  ~Storage() {
    if (!owner_) device_memory::release(device_, data_);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Device device_;
  size_t bytes_;
  void* data_;
  std::shared_ptr<const void> owner_;  // set for memory owned elsewhere
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;              // accumulated by backward() for leaves
  std::shared_ptr<autograd::Node> grad_fn;       // the op that produced this tensor, if recorded
};

class Tensor {
 public:
  Tensor() = default;  // undefined: no data
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- creation
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu()) {
    check(shape.numel() >= 0, "Tensor::empty", "negative extent in shape ", shape);
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()) * dtype_size(dtype), device);
    impl->shape = shape;
    impl->dtype = dtype;
    return Tensor(std::move(impl));
  }
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu()) {
    return full(shape, 0.0, dtype, device);
  }
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu()) {
    return full(shape, 1.0, dtype, device);
  }
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
  static Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
  // Copies host values into a new tensor of `shape` (and converts them to its dtype).
  template <class T>
  static Tensor from(const Shape& shape, std::span<const T> values, Device device = Device::cpu()) {
    check(shape.numel() == static_cast<int64_t>(values.size()), "Tensor::from", "shape ", shape, " holds ",
          shape.numel(), " values, got ", values.size());
    Tensor t = empty(shape, dtype_of<T>(), Device::cpu());
    std::copy(values.begin(), values.end(), t.data<T>());
    return device.is_cpu() ? t : t.to(device);
  }
  template <class T>
  static Tensor from(const Shape& shape, const std::vector<T>& values, Device device = Device::cpu()) {
    return from(shape, std::span<const T>(values), device);
  }
  // A tensor over `shape.numel()` contiguous row-major elements at `data`, without copying them; `owner`
  // keeps that memory alive while any tensor uses it (views share it).
  static Tensor wrap(void* data, const Shape& shape, DType dtype, Device device, std::shared_ptr<const void> owner) {
    check(shape.numel() >= 0, "Tensor::wrap", "negative extent in shape ", shape);
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(data, static_cast<size_t>(shape.numel()) * dtype_size(dtype), device,
                                              std::move(owner));
    impl->shape = shape;
    impl->dtype = dtype;
    return Tensor(std::move(impl));
  }

  // ---- properties
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int64_t rank() const { return shape().rank(); }
  int64_t dim(int64_t i) const { return shape()[i]; }
  int64_t numel() const { return shape().numel(); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }

  // ---- data (a device pointer for CUDA tensors)
  template <class T>
  T* data() const {
    check(dtype() == dtype_of<T>(), "Tensor::data", "tensor holds ", dtype_name(dtype()), ", asked for ",
          dtype_name(dtype_of<T>()));
    return static_cast<T*>(impl().storage->data()) + impl().offset;
  }
  void* raw_data() const {
    return static_cast<char*>(impl().storage->data()) + impl().offset * static_cast<int64_t>(dtype_size(dtype()));
  }
  // Host copies of the values, converted to T.
  template <class T>
  std::vector<T> to_vector() const;
  template <class T>
  T item() const {
    check(numel() == 1, "Tensor::item", "expected a tensor of one element, got shape ", shape());
    return to_vector<T>()[0];
  }

  // ---- copies and views
  Tensor to(Device device) const;  // a copy on `device` (this tensor itself when already there)
  Tensor to(DType dtype) const;    // a converted copy (this tensor itself when already that type)
  Tensor clone() const;            // a deep copy, detached from autograd
  Tensor detach() const;           // same data, no autograd history
  // Same data under another shape of equal numel; not recorded by autograd (ops::reshape is).
  Tensor view(const Shape& shape) const;
  // Elements [begin, begin + shape.numel()) of this tensor's storage, viewed as `shape`.
  Tensor view_at(int64_t begin, const Shape& shape) const;
  // Copies `src` (same shape, dtype) into this tensor's memory.
  void copy_from(const Tensor& src) const;
  bool shares_storage_with(const Tensor& other) const {
    return defined() && other.defined() && impl().storage == other.impl().storage;
  }

  // ---- autograd
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool on = true) {
    impl().requires_grad = on;
    return *this;
  }
  Tensor grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }
  void set_grad(const Tensor& g) const { impl().grad = g.impl_; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  // Back-propagates from this scalar (or with an explicit upstream gradient); see autograd/backward.h.
  void backward(const Tensor& upstream = Tensor()) const;

  TensorImpl& impl() const {
    check(impl_ != nullptr, "Tensor", "use of an undefined tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace timbre
