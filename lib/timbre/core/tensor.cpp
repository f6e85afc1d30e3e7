#include "timbre/core/tensor.h"

#include <algorithm>

namespace timbre {

namespace {
// Converts n values between element types on the host.
void convert(const void* src, DType src_type, void* dst, DType dst_type, int64_t n) {
  visit_dtype(src_type, [&](auto s) {
    using S = decltype(s);
    visit_dtype(dst_type, [&](auto d) {
      using D = decltype(d);
      std::transform(static_cast<const S*>(src), static_cast<const S*>(src) + n, static_cast<D*>(dst),
                     [](S v) { return static_cast<D>(v); });
    });
  });
}
}  // namespace

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor host = empty(shape, dtype, Device::cpu());
  visit_dtype(dtype, [&](auto t) {
    using T = decltype(t);
    std::fill_n(host.data<T>(), host.numel(), static_cast<T>(value));
  });
  return device.is_cpu() ? host : host.to(device);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = to(Device::cpu());
  std::vector<T> out(static_cast<size_t>(numel()));
  convert(host.raw_data(), dtype(), out.data(), dtype_of<T>(), numel());
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;

Tensor Tensor::to(Device device) const {
  if (this->device() == device) return *this;
  Tensor out = empty(shape(), dtype(), device);
  device_memory::copy(out.raw_data(), device, raw_data(), this->device(), bytes());
  return out;
}

Tensor Tensor::to(DType type) const {
  if (dtype() == type) return *this;
  Tensor host = to(Device::cpu());
  Tensor out = empty(shape(), type, Device::cpu());
  convert(host.raw_data(), dtype(), out.raw_data(), type, numel());
  return device().is_cpu() ? out : out.to(device());
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_from(*this);
  return out;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = this->impl().storage;
  impl->offset = this->impl().offset;
  impl->shape = shape();
  impl->dtype = dtype();
  return Tensor(std::move(impl));
}

Tensor Tensor::view(const Shape& shape) const {
  check(shape.numel() == numel(), "Tensor::view", "cannot view ", numel(), " elements of shape ", this->shape(),
        " as shape ", shape, " (", shape.numel(), " elements)");
  Tensor out = detach();
  out.impl().shape = shape;
  return out;
}

Tensor Tensor::view_at(int64_t begin, const Shape& shape) const {
  check(begin >= 0 && begin + shape.numel() <= numel(), "Tensor::view_at", "elements [", begin, ", ",
        begin + shape.numel(), ") lie outside a tensor of ", numel(), " elements");
  Tensor out = detach();
  out.impl().offset += begin;
  out.impl().shape = shape;
  return out;
}

void Tensor::copy_from(const Tensor& src) const {
  check(src.shape() == shape() && src.dtype() == dtype(), "Tensor::copy_from", "expected ", dtype_name(dtype()),
        " ", shape(), ", got ", dtype_name(src.dtype()), " ", src.shape());
  device_memory::copy(raw_data(), device(), src.raw_data(), src.device(), bytes());
}

}  // namespace timbre
