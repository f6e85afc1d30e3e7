// Cases of the memory kernels (kernels/cpu/memory.cpp, kernels/cuda/memory.cu).
#include "op_driver/driver.h"

namespace timbre::testing::op_driver {

using kernels::Op;

namespace {
// An odd size, and about P2's parameter count (bench; too large to emulate).
template <class Build>
std::vector<Case> odd_and_seed_sizes(Build build) {
  std::vector<Case> cases;
  for (const int64_t n : {int64_t{5003}, int64_t{1} << 20}) {
    Case c = build(n);
    c.bench = n > 5003;
    c.emulate = !c.bench;
    cases.push_back(c);
  }
  return cases;
}
}  // namespace

std::vector<Case> fill_cases() {
  return odd_and_seed_sizes([](int64_t n) {
    Case c{Op::fill, "n " + std::to_string(n)};
    c.out("y", n);
    c.forward = calls([n](auto& r) { OP_CALL(r, fill, n, 0.25, r["y"]); });
    return c;
  });
}

std::vector<Case> axpy_cases() {
  return odd_and_seed_sizes([](int64_t n) {
    Case c{Op::axpy, "n " + std::to_string(n)};
    c.in("x", n).inout("y", n);
    c.forward = calls([n](auto& r) { OP_CALL(r, axpy, n, -1.5, r["x"], r["y"]); });
    return c;
  });
}

std::vector<Case> copy_block_cases() {
  std::vector<Case> cases;
  struct Block {
    int64_t rows, cols, src_stride, dst_stride;
  };
  // A 7 x 9 block at odd strides; P1.1's join of two branches at batch 128 (bench).
  for (const Block b : {Block{7, 9, 11, 13}, Block{128, 1296, 1296, 2592}})
    for (const bool accumulate : {false, true}) {
      Case c{Op::copy_block, std::to_string(b.rows) + "x" + std::to_string(b.cols) + " strides " +
                                 std::to_string(b.src_stride) + "/" + std::to_string(b.dst_stride) +
                                 (accumulate ? " accumulate" : " copy")};
      c.in("src", b.rows * b.src_stride).inout("dst", b.rows * b.dst_stride + 5);
      c.forward = calls([b, accumulate](auto& r) {
        OP_CALL(r, copy_block, b.rows, b.cols, r["src"], b.src_stride, r["dst"] + 3, b.dst_stride, accumulate);
      });
      c.bench = b.rows == 128 && !accumulate;
      cases.push_back(c);
    }
  return cases;
}

}  // namespace timbre::testing::op_driver
