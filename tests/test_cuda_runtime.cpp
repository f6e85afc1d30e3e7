// The CUDA side beyond the kernels (those are checked by the op driver,
// tests/test_op_driver.cpp): the SIMT emulator's own barriers, shuffles and
// atomics, the error for a missing GPU, and device memory.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "kernels/cuda/runtime.cuh"  // the emulator's view of CUDA, for the tests of the emulator itself
#include "timbre/timbre.h"

using namespace timbre;
namespace k = timbre::kernels;

// ---------------------------------------------------------------- the emulator itself

namespace {
// Reverses each block's slice through shared memory: wrong without a working __syncthreads.
__global__ void reverse_in_block(const int* in, int* out) {
  __shared__ int tile[96];
  const int t = threadIdx.x, base = blockIdx.x * blockDim.x;
  tile[t] = in[base + t];
  __syncthreads();
  out[base + t] = tile[blockDim.x - 1 - t];
}

// Lane results of the four shuffles, each segment of `width` lanes on its own.
__global__ void shuffles(int width, int* down, int* up, int* xor_, int* broadcast) {
  const int t = threadIdx.x;
  down[t] = __shfl_down_sync(0xffffffffu, t, 3, width);
  up[t] = __shfl_up_sync(0xffffffffu, t, 2, width);
  xor_[t] = __shfl_xor_sync(0xffffffffu, t, 5, width);
  broadcast[t] = __shfl_sync(0xffffffffu, t * 10, 1, width);
}

__global__ void warp_sums(const double* in, double* out) {
  const double s = k::emu::warp_sum(in[threadIdx.x]);
  if (threadIdx.x % warpSize == 0) out[threadIdx.x / warpSize] = s;
}

__global__ void count_with_atomics(float* f, double* d) {
  atomicAdd(f, 1.0f);
  atomicAdd(d, 0.5);
}

// Lanes 0-15 wait at __syncthreads while lanes 16-31 of the same warp wait at a shuffle.
__global__ void divergent_barriers(int* out) {
  if (threadIdx.x < 16)
    __syncthreads();
  else
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1, 1);
}

// The last lane exits before a shuffle that reads it.
__global__ void shuffle_from_exited_lane(int* out) {
  if (threadIdx.x == 31) return;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1, 1);
}
}  // namespace

TEST_CASE("SIMT emulator: __syncthreads orders shared memory across a block", "[cuda][simt]") {
  std::vector<int> in(3 * 96), out(in.size(), -1);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i);
  k::emu::launch("reverse_in_block", reverse_in_block, 3, 96, 0, static_cast<const int*>(in.data()), out.data());
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < 96; ++t) CHECK(out[b * 96 + t] == b * 96 + 95 - t);
}

TEST_CASE("SIMT emulator: warp shuffles follow CUDA's lane rules", "[cuda][simt]") {
  for (const int width : {32, 8}) {
    std::vector<int> down(64), up(64), xor_(64), broadcast(64);
    k::emu::launch("shuffles", shuffles, 1, 64, 0, width, down.data(), up.data(), xor_.data(), broadcast.data());
    for (int t = 0; t < 64; ++t) {
      const int base = t / width * width;
      INFO("width " << width << " lane " << t);
      CHECK(down[t] == (t + 3 < base + width ? t + 3 : t));
      CHECK(up[t] == (t - 2 >= base ? t - 2 : t));
      CHECK(xor_[t] == ((t ^ 5) < base + width ? (t ^ 5) : t));
      CHECK(broadcast[t] == (base + 1) * 10);
    }
  }
  std::vector<double> in(64), out(2);
  for (int i = 0; i < 64; ++i) in[i] = i;
  k::emu::launch("warp_sums", warp_sums, 1, 64, 0, static_cast<const double*>(in.data()), out.data());
  CHECK(out[0] == 31 * 32 / 2);
  CHECK(out[1] == (63 * 64 - 31 * 32) / 2);
}

TEST_CASE("SIMT emulator: atomicAdd on float and double", "[cuda][simt]") {
  float f = 0;
  double d = 0;
  k::emu::launch("count_with_atomics", count_with_atomics, dim3(3, 2), dim3(50, 2), 0, &f, &d);
  CHECK(f == 600.0f);
  CHECK(d == 300.0);
}

TEST_CASE("SIMT emulator: bad launches and misused barriers raise timbre::Error", "[cuda][simt]") {
  std::vector<int> out(64);
  CHECK_THROWS_WITH(
      k::emu::launch("reverse_in_block", reverse_in_block, 1, 2048, 0, static_cast<const int*>(out.data()), out.data()),
      Catch::Contains("reverse_in_block") && Catch::Contains("invalid block"));
  CHECK_THROWS_WITH(k::emu::launch("divergent_barriers", divergent_barriers, 1, 32, 0, out.data()),
                    Catch::Contains("deadlock"));
  CHECK_THROWS_WITH(k::emu::launch("shuffle_from_exited_lane", shuffle_from_exited_lane, 1, 32, 0, out.data()),
                    Catch::Contains("lane 31"));
  // The emulator recovers: a good launch still works after the failures.
  float f = 0;
  double d = 0;
  k::emu::launch("count_with_atomics", count_with_atomics, 1, 7, 0, &f, &d);
  CHECK(f == 7.0f);
}

// ---------------------------------------------------------------- devices

TEST_CASE("asking for a CUDA device without a GPU raises a clear timbre::Error", "[cuda]") {
  if (cuda_device_count() > 0) {
    CHECK(parse_device("cuda").is_cuda());
    CHECK_THROWS_AS(parse_device("cuda:99"), Error);
    WARN("a GPU is present: the no-GPU errors were not exercised");
    return;
  }
  const std::string reason = cuda_unavailable_reason();
  CHECK_FALSE(reason.empty());
  CHECK_THROWS_WITH(parse_device("cuda"), Catch::Contains("no GPU is usable") && Catch::Contains(reason));
  CHECK_THROWS_AS(parse_device("cuda:1"), Error);
  CHECK(parse_device("auto").is_cpu());
  CHECK_THROWS_AS(Tensor::zeros({2, 3}, DType::f32, Device::cuda()), Error);
}

TEST_CASE("device memory: pinned host buffers, and the caching allocator reuses released blocks", "[cuda]") {
  auto* pinned = static_cast<float*>(device_memory::allocate_pinned(1000 * sizeof(float)));
  for (int i = 0; i < 1000; ++i) pinned[i] = static_cast<float>(i);
  CHECK(pinned[999] == 999.0f);
  device_memory::release_pinned(pinned);
  if (cuda_device_count() == 0) {
    WARN("CUDA caching allocator not exercised: " << cuda_unavailable_reason());
    return;
  }
  device_memory::empty_cache();
  void* a = device_memory::allocate(Device::cuda(), 3000);
  device_memory::release(Device::cuda(), a);
  CHECK(device_memory::cached_bytes() >= 3000);
  void* b = device_memory::allocate(Device::cuda(), 2900);  // same size class: the same block
  CHECK(b == a);
  CHECK(device_memory::cached_bytes() == 0);
  device_memory::release(Device::cuda(), b);
  device_memory::empty_cache();
  CHECK(device_memory::cached_bytes() == 0);
}
