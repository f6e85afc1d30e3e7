// Cases of lstm and reverse_steps (kernels/cpu/lstm.cpp, kernels/cuda/lstm.cu):
// every direction and output mode, and the forward that keeps nothing for a backward.
#include "op_driver/driver.h"
#include "op_driver/shapes.h"

namespace timbre::testing::op_driver {

using kernels::Op;

namespace {
std::string label(const kernels::LstmGeometry& g) {
  return std::to_string(g.batch) + "x" + std::to_string(g.steps) + "x" + std::to_string(g.features) + " units " +
         std::to_string(g.units) + (g.return_sequences ? " sequences" : " last state") +
         (g.go_backwards ? " backwards" : "") + (g.keep_for_backward ? "" : " inference");
}

Case lstm_case(const kernels::LstmGeometry& g) {
  const kernels::LstmLayout l = kernels::lstm_layout(g);
  const int64_t G = 4 * g.units, yn = g.batch * (g.return_sequences ? g.steps : 1) * g.units;
  Case c{Op::lstm, label(g)};
  c.in("x", g.batch * g.steps * g.features, {}, "gx");
  c.in("kernel", g.features * G, uniform(-0.5, 0.5), "gkernel");
  c.in("recurrent_kernel", g.units * G, uniform(-0.5, 0.5), "grecurrent_kernel").in("bias", G, {}, "gbias");
  c.out("y", yn, "gy");
  if (g.keep_for_backward)
    c.out("saved", l.saved_size);  // the layout every backend shares
  else
    c.scratch("saved", l.saved_size);  // a backend keeps what it needs there
  c.scratch("scratch", l.scratch_size);
  c.forward = calls([g](auto& r) {
    OP_CALL(r, lstm_forward, g, r["x"], r["kernel"], r["recurrent_kernel"], r["bias"], r["y"], r["saved"]);
  });
  if (g.keep_for_backward)
    c.backward = calls([g](auto& r) {
      OP_CALL(r, lstm_backward, g, r["x"], r["kernel"], r["recurrent_kernel"], r["saved"], r["gy"], r["scratch"],
              r["gx"], r["gkernel"], r["grecurrent_kernel"], r["gbias"]);
    });
  c.f32_tolerance = 1e-3;  // float recurrences over the steps
  return c;
}
}  // namespace

std::vector<Case> lstm_cases() {
  std::vector<Case> cases;
  for (const bool return_sequences : {false, true})
    for (const bool go_backwards : {false, true})
      cases.push_back(lstm_case({3, 5, 7, 6, return_sequences, go_backwards}));
  cases.push_back(lstm_case({3, 5, 7, 6, true, false, false}));
  // P2's first BiLSTM direction, at a quarter of the batch to keep the float64 reference quick.
  Case seed = lstm_case({kSeedBatch / 4, 100, 24, 128, true, false});
  seed.bench = true;
  seed.emulate = seed.gradcheck = false;
  cases.push_back(seed);
  return cases;
}

std::vector<Case> reverse_steps_cases() {
  struct Shape {
    int64_t batch, steps, width;
  };
  std::vector<Case> cases;
  for (const Shape s : {Shape{3, 7, 5}, Shape{kSeedBatch, 100, 128}})  // the second: P2's BiLSTM
    for (const bool accumulate : {false, true}) {
      const int64_t n = s.batch * s.steps * s.width;
      Case c{Op::reverse_steps, std::to_string(s.batch) + "x" + std::to_string(s.steps) + "x" +
                                    std::to_string(s.width) + (accumulate ? " accumulate" : "")};
      // Its own backward: the gradient reversed back, added into gx.
      c.in("x", n, {}, "gx").out("y", n, "gy");
      if (accumulate) c.buffers.back().role = Role::inout;  // added into
      c.forward =
          calls([=](auto& r) { OP_CALL(r, reverse_steps, s.batch, s.steps, s.width, r["x"], r["y"], accumulate); });
      c.backward =
          calls([=](auto& r) { OP_CALL(r, reverse_steps, s.batch, s.steps, s.width, r["gy"], r["gx"], true); });
      c.bench = s.batch == kSeedBatch && !accumulate;
      c.emulate = c.gradcheck = s.batch != kSeedBatch;
      cases.push_back(c);
    }
  return cases;
}

}  // namespace timbre::testing::op_driver
