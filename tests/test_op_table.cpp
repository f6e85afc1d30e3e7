// The op table (kernels/ops.def) against what exists: every kernel family of
// kernels/kernels.h is in the table and the reverse; every op has driver cases
// (tests/op_driver/<kernel file>.cpp) that call each of its kernels, on the CPU
// and both CUDA builds (the driver's OP_CALL links all three, so a missing twin
// fails to link), a float64 gradient check if it is differentiable, and a case
// at a seed model's shape that bench/bench_ops.cpp times on the CPU and on CUDA.
// A missing piece fails here with the op's name. Also: what each backend supports.
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "op_driver/driver.h"

using namespace timbre;
using namespace timbre::testing::op_driver;
using kernels::Op;

namespace {
std::set<std::string> split_kernels(std::string_view list) {
  std::set<std::string> out;
  std::stringstream in{std::string(list)};
  for (std::string name; std::getline(in, name, ',');) {
    name.erase(0, name.find_first_not_of(' '));
    out.insert(name);
  }
  return out;
}

// The kernel names kernels/kernels.h declares: `template <class T> void NAME(`.
std::set<std::string> declared_kernels() {
  std::ifstream file(TIMBRE_SOURCE_DIR "/kernels/kernels.h");
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  const std::string s = text.str();
  const std::regex declaration(R"(template <class T>\s+void (\w+)\()");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), declaration); it != std::sregex_iterator(); ++it)
    out.insert((*it)[1]);
  return out;
}
}  // namespace

TEST_CASE("the op table lists every kernel of kernels/kernels.h once, and nothing else", "[op_table]") {
  std::set<std::string> listed;
  for (const kernels::OpRecord& r : kernels::kOpTable)
    for (const std::string& k : split_kernels(r.kernels)) {
      INFO("op " << r.name);
      CHECK(listed.insert(k).second);  // a kernel in two families
    }
  const std::set<std::string> declared = declared_kernels();
  REQUIRE(declared.size() > 20);  // the parse found the declarations
  for (const std::string& k : declared) {
    INFO("kernels/kernels.h declares " << k << ", which kernels/ops.def does not list");
    CHECK(listed.count(k) == 1);
  }
  for (const std::string& k : listed) {
    INFO("kernels/ops.def lists " << k << ", which kernels/kernels.h does not declare");
    CHECK(declared.count(k) == 1);
  }
}

TEST_CASE("every op has driver cases covering each of its kernels, a gradient check and a benchmark", "[op_table]") {
  for (const kernels::OpRecord& r : kernels::kOpTable) {
    INFO("op " << r.name);
    CHECK(kernels::op_name(r.op) == r.name);
    const std::vector<Case> cases = cases_of(r.op);
    REQUIRE(!cases.empty());
    std::set<std::string> called;
    bool gradchecked = false, benched = false;
    for (const Case& c : cases) {
      CHECK(c.op == r.op);
      for (const std::string& k : kernels_called(c)) called.insert(k);
      gradchecked = gradchecked || gradient_checked(c);
      benched = benched || c.bench;
    }
    for (const std::string& k : split_kernels(r.kernels)) {
      INFO("no case calls " << k);
      CHECK(called.count(k) == 1);
    }
    if (r.kind == kernels::OpKind::differentiable) {
      INFO("no case is gradient-checked");
      CHECK(gradchecked);
    }
    INFO("no case at a seed model's shape for bench/bench_ops.cpp");
    CHECK(benched);
  }
}

TEST_CASE("supports: the fused ops' definitions on every backend, the CPU's channel limit", "[op_table]") {
  kernels::FusionGeometry g{};
  g.conv.in_c = 1, g.conv.out_c = 8, g.conv.stride_h = g.conv.stride_w = 1;
  g.pool = {0, 0, 0, 8, 0, 0, 2, 2, 2, 2};
  g.negative_slope = 0.3;
  CHECK(kernels::cpu::supports(Op::conv2d_pool, g));
  CHECK(kernels::emu::supports(Op::conv2d_pool, g));
  CHECK(kernels::supports(Op::conv2d_pool, Device::cpu(), g));
  auto wide = g;
  wide.conv.out_c = 17;  // past the CPU's direct convolution: im2col + GEMM and a pooling are faster
  CHECK_FALSE(kernels::cpu::supports(Op::conv2d_pool, wide));
  CHECK(kernels::emu::supports(Op::conv2d_pool, wide));
  const std::pair<const char*, std::function<void(kernels::FusionGeometry&)>> undefined[] = {
      {"convolution stride 2", [](kernels::FusionGeometry& b) { b.conv.stride_w = 2; }},
      {"overlapping windows", [](kernels::FusionGeometry& b) { b.pool.stride_h = 1; }},
      {"slope 1.5", [](kernels::FusionGeometry& b) { b.negative_slope = 1.5; }},
      {"slope -0.1", [](kernels::FusionGeometry& b) { b.negative_slope = -0.1; }},
  };
  for (const auto& [what, change] : undefined) {
    kernels::FusionGeometry bad = g;
    change(bad);
    INFO(what);
    CHECK_FALSE(kernels::cpu::supports(Op::conv2d_pool, bad));
    CHECK_FALSE(kernels::emu::supports(Op::conv2d_pool, bad));
  }
  auto norm = g;
  norm.conv = {};  // batchnorm_pool reads the pool and the slope only
  CHECK(kernels::cpu::supports(Op::batchnorm_pool, norm));
  norm.pool.stride_w = 1;
  CHECK_FALSE(kernels::cpu::supports(Op::batchnorm_pool, norm));
  CHECK(kernels::cpu::supports(Op::dense, {}));  // ops without limits
}
