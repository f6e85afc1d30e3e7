// Tensor core: allocation, views, conversion, autograd plumbing, devices, bad input.
#include <catch2/catch.hpp>
#include <cstdint>

#include "gradcheck.h"

using namespace timbre;

TEST_CASE("tensors are 64-byte aligned, row-major and typed", "[tensor]") {
  Tensor t = Tensor::zeros({3, 5, 7});
  CHECK(reinterpret_cast<uintptr_t>(t.raw_data()) % 64 == 0);
  CHECK(t.numel() == 105);
  CHECK(t.dtype() == DType::f32);
  CHECK(t.device().is_cpu());
  Tensor d = Tensor::full({2, 2}, 1.5, DType::f64);
  CHECK(d.to_vector<double>() == std::vector<double>(4, 1.5));
  CHECK(d.to(DType::f32).to_vector<float>() == std::vector<float>(4, 1.5f));
  CHECK_THROWS_WITH(d.data<float>(), Catch::Contains("float64"));
}

TEST_CASE("views share storage; clone does not", "[tensor]") {
  Tensor t = Tensor::from<float>({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor v = t.view({3, 2});
  v.data<float>()[0] = 9;
  CHECK(t.to_vector<float>()[0] == 9);
  Tensor row = t.view_at(3, {3});
  CHECK(row.to_vector<float>() == std::vector<float>{3, 4, 5});
  Tensor c = t.clone();
  c.data<float>()[1] = 7;
  CHECK(t.to_vector<float>()[1] == 1);
  CHECK_THROWS_WITH(t.view({4, 2}), Catch::Contains("Tensor::view"));
  CHECK_THROWS_WITH(t.view_at(4, {3}), Catch::Contains("Tensor::view_at"));
  CHECK_THROWS_WITH(Tensor::from<float>({2, 2}, {1, 2, 3}), Catch::Contains("Tensor::from"));
}

TEST_CASE("backward accumulates into leaves and reuses a shared input", "[tensor][autograd]") {
  Tensor x = Tensor::from<double>({3}, {0.1, -0.4, 0.7}).set_requires_grad();
  // y = tanh(x) + tanh(x): d/dx = 2 (1 - tanh^2)
  ops::add(ops::tanh(x), ops::tanh(x)).backward(Tensor::ones({3}, DType::f64));
  const auto g = x.grad().to_vector<double>();
  const auto xv = x.to_vector<double>();
  for (int i = 0; i < 3; ++i) CHECK(g[i] == Approx(2 * (1 - std::tanh(xv[i]) * std::tanh(xv[i]))));
  {
    NoGrad no_grad;
    CHECK_FALSE(ops::tanh(x).requires_grad());
  }
  CHECK_THROWS_WITH(ops::tanh(x).backward(), Catch::Contains("scalar"));
}

TEST_CASE("device strings parse, and CUDA without a GPU is a clear error", "[tensor][device]") {
  CHECK(parse_device("cpu").is_cpu());
  CHECK_THROWS_WITH(parse_device("gpu"), Catch::Contains("expected cpu, cuda, cuda:N or auto"));
  CHECK_THROWS_WITH(parse_device("cuda:x"), Catch::Contains("cuda:N"));
  if (cuda_device_count() == 0) {
    CHECK(parse_device("auto").is_cpu());
    CHECK_FALSE(cuda_unavailable_reason().empty());
    CHECK_THROWS_WITH(parse_device("cuda"), Catch::Contains("no GPU is usable"));
    CHECK_THROWS_WITH(Tensor::zeros({2}, DType::f32, Device::cuda()), Catch::Contains("cuda:0"));
  } else {
    CHECK_FALSE(parse_device("auto").is_cpu());
  }
}

TEST_CASE("the CPU caching allocator reuses released large blocks and keeps no small ones", "[tensor][device]") {
  device_memory::empty_cache();
  REQUIRE(device_memory::cached_bytes() == 0);
  void* small = device_memory::allocate(Device::cpu(), 1000);
  device_memory::release(Device::cpu(), small);
  CHECK(device_memory::cached_bytes() == 0);
  auto* a = static_cast<float*>(device_memory::allocate(Device::cpu(), 100000));
  CHECK(reinterpret_cast<uintptr_t>(a) % 64 == 0);
  a[24999] = 1.0f;  // the whole requested size is usable
  device_memory::release(Device::cpu(), a);
  if (device_memory::cached_bytes() == 0) {
    WARN("CPU block cache disabled in this build (AddressSanitizer)");
    return;
  }
  CHECK(device_memory::cached_bytes() >= 100000);
  void* b = device_memory::allocate(Device::cpu(), 99900);  // same 512-byte size class: the same block
  CHECK(b == a);
  CHECK(device_memory::cached_bytes() == 0);
  device_memory::release(Device::cpu(), b);
  device_memory::empty_cache();
  CHECK(device_memory::cached_bytes() == 0);
}

TEST_CASE("num_threads follows set_num_threads", "[tensor][threads]") {
  const int before = num_threads();
  set_num_threads(1);
  CHECK(num_threads() == 1);
  set_num_threads(before);
  CHECK(num_threads() == before);
}
