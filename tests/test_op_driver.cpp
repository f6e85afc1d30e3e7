// The op test driver (tests/op_driver) over every op of the op table: one test
// per op, generated from kernels/ops.def, running each of the op's cases on the
// CPU (float64 reference and float32), the SIMT emulator, a GPU when present,
// and the float64 gradient check.
#include <catch2/catch.hpp>

#include "op_driver/driver.h"

using namespace timbre::testing::op_driver;

namespace {
void check_op(timbre::kernels::Op op) {
  const std::vector<Case> cases = cases_of(op);
  REQUIRE(!cases.empty());
  std::vector<std::string> skipped;
  for (const Case& c : cases) {
    const Report report = check_case(c);
    INFO("case: " << c.label);
    for (const std::string& failure : report.failures) FAIL_CHECK(failure);
    CHECK(report.checks > 0);
    for (const std::string& s : report.skipped)
      if (std::find(skipped.begin(), skipped.end(), s) == skipped.end()) skipped.push_back(s);
  }
  // scripts/device/check.sh looks for this phrase: on a GPU machine, the native half must have run.
  for (const std::string& s : skipped) WARN("native CUDA comparison skipped (" << s << ")");
}
}  // namespace

// Cases built to be wrong, from real kernels (so that they run on every backend):
// the driver must report each defect.
TEST_CASE("the op driver reports each kind of defect it is there to catch", "[op_driver]") {
  const int64_t n = 37;
  // y = 2x, and a backward `gx = scale * gy` that assigns (`assign`) or adds.
  const auto doubling = [n](bool assign, double scale, bool overrun, bool write_input, bool emu_differs) {
    Case c{timbre::kernels::Op::leaky_relu, "a wrong case"};
    c.in("x", n, {}, "gx").out("y", n, "gy");
    c.forward = calls([=](auto& r) {
      OP_CALL(r, fill, overrun ? n + 1 : n, 0.0, r["y"]);
      OP_CALL(r, axpy, n, r.backend == Backend::emu && emu_differs ? 2.01 : 2.0, r["x"], r["y"]);
      if (write_input) OP_CALL(r, axpy, n, 1.0, r["x"], r["x"]);
    });
    c.backward = calls([=](auto& r) {
      if (assign) OP_CALL(r, fill, n, 0.0, r["gx"]);
      OP_CALL(r, axpy, n, scale, r["gy"], r["gx"]);
    });
    return c;
  };
  const auto failures = [](const Case& c) {
    std::string all;
    for (const std::string& f : check_case(c).failures) all += f + "\n";
    return all;
  };
  CHECK(failures(doubling(false, 2, false, false, false)).empty());  // the correct case passes
  CHECK_THAT(failures(doubling(true, 2, false, false, false)), Catch::Contains("backward does not add into gx"));
  CHECK_THAT(failures(doubling(false, 3, false, false, false)), Catch::Contains("(gradcheck): gx"));
  CHECK_THAT(failures(doubling(false, 2, true, false, false)), Catch::Contains("written out of bounds around y"));
  CHECK_THAT(failures(doubling(false, 2, false, true, false)), Catch::Contains("input x was written"));
  CHECK_THAT(failures(doubling(false, 2, false, false, true)),
             Catch::Contains("on emulated CUDA (float32): y") && Catch::Contains("[a wrong case]"));
  Case constant{timbre::kernels::Op::leaky_relu, "a constant"};
  constant.in("x", n, {}, "gx").out("y", n, "gy");
  constant.forward = calls([n](auto& r) { OP_CALL(r, fill, n, 1.0, r["y"]); });
  constant.backward = calls([](auto&) {});
  CHECK_THAT(failures(constant), Catch::Contains("proves nothing"));
}

#define TIMBRE_OP(op, kind, ...) \
  TEST_CASE("op driver: " #op " on every backend", "[op_driver][cuda][" #op "]") { check_op(timbre::kernels::Op::op); }
#include "kernels/ops.def"
#undef TIMBRE_OP
