// LSTM and Bidirectional: forward against a plain per-step float64 loop,
// float64 gradient checks of every input and weight, Keras' parameter counts,
// names and initial values, buffer reuse, and bad input.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "gradcheck.h"
#include "kernels/dispatch.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::gradcheck_module;
using timbre::testing::random_tensor;

namespace {
double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }

struct Dims {
  int64_t batch, steps, features, units;
};

// Keras' LSTM written out step by step: gates i, f, c, o; zero initial state;
// returns (batch, steps, units) in reading order, or the last state (batch, units).
std::vector<double> reference_lstm(const Dims& d, const std::vector<double>& x, const std::vector<double>& kernel,
                                   const std::vector<double>& recurrent_kernel, const std::vector<double>& bias,
                                   bool return_sequences, bool go_backwards) {
  const int64_t u = d.units, G = 4 * u;
  std::vector<double> out(static_cast<size_t>(d.batch * (return_sequences ? d.steps : 1) * u));
  for (int64_t n = 0; n < d.batch; ++n) {
    std::vector<double> h(static_cast<size_t>(u), 0.0), c(static_cast<size_t>(u), 0.0), z(static_cast<size_t>(G));
    for (int64_t s = 0; s < d.steps; ++s) {
      const int64_t t = go_backwards ? d.steps - 1 - s : s;
      for (int64_t k = 0; k < G; ++k) {
        double v = bias[k];
        for (int64_t f = 0; f < d.features; ++f) v += x[(n * d.steps + t) * d.features + f] * kernel[f * G + k];
        for (int64_t j = 0; j < u; ++j) v += h[j] * recurrent_kernel[j * G + k];
        z[k] = v;
      }
      for (int64_t j = 0; j < u; ++j) {
        const double i = sigmoid(z[j]), f = sigmoid(z[u + j]), g = std::tanh(z[2 * u + j]), o = sigmoid(z[3 * u + j]);
        c[j] = f * c[j] + i * g;
        h[j] = o * std::tanh(c[j]);
      }
      if (return_sequences)
        for (int64_t j = 0; j < u; ++j) out[(n * d.steps + s) * u + j] = h[j];
    }
    if (!return_sequences)
      for (int64_t j = 0; j < u; ++j) out[n * u + j] = h[j];
  }
  return out;
}

struct LstmInputs {
  Tensor x, kernel, recurrent_kernel, bias;
};

LstmInputs random_inputs(const Dims& d, uint64_t seed) {
  const int64_t G = 4 * d.units;
  return {random_tensor({d.batch, d.steps, d.features}, seed, -1, 1).set_requires_grad(),
          random_tensor({d.features, G}, seed + 1, -0.6, 0.6).set_requires_grad(),
          random_tensor({d.units, G}, seed + 2, -0.6, 0.6).set_requires_grad(),
          random_tensor({G}, seed + 3, -0.5, 0.5).set_requires_grad()};
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tolerance) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t k = 0; k < got.size(); ++k) worst = std::max(worst, std::abs(got[k] - want[k]));
  INFO("largest difference " << worst);
  CHECK(worst <= tolerance);
}

// tests/fixtures/lstm/keras_lstm.txt (tools/make_lstm_fixture.py): one float64 array a line, "<name> <d0,d1,..> <values>".
std::map<std::string, Tensor> read_keras_fixture() {
  std::ifstream in(std::string(TIMBRE_FIXTURES) + "/lstm/keras_lstm.txt");
  REQUIRE(in.good());
  std::map<std::string, Tensor> arrays;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, dims;
    fields >> name >> dims;
    std::vector<int64_t> shape;
    std::istringstream dim_list(dims);
    for (std::string d; std::getline(dim_list, d, ',');) shape.push_back(std::stoll(d));
    std::vector<double> values;
    for (double v; fields >> v;) values.push_back(v);
    arrays[name] = Tensor::from<double>(Shape(shape), values);
  }
  return arrays;
}

// Sets the thread count for one scope (OpenMP's setting is process-wide).
struct Threads {
  explicit Threads(int n) : previous(num_threads()) { set_num_threads(n); }
  ~Threads() { set_num_threads(previous); }
  int previous;
};
}  // namespace

TEST_CASE("lstm forward matches a per-step reference", "[lstm]") {
  // The second shape is big enough for the threaded path (blocks of batch rows).
  for (const Dims d : {Dims{3, 6, 4, 5}, Dims{8, 16, 3, 64}}) {
    const LstmInputs in = random_inputs(d, 11);
    for (const bool sequences : {false, true})
      for (const bool backwards : {false, true}) {
        INFO("batch " << d.batch << " units " << d.units << " return_sequences " << sequences << " go_backwards "
                      << backwards);
        const Tensor y = ops::lstm(in.x, in.kernel, in.recurrent_kernel, in.bias, {sequences, backwards});
        CHECK(y.shape() == (sequences ? Shape{d.batch, d.steps, d.units} : Shape{d.batch, d.units}));
        check_close(y.to_vector<double>(),
                    reference_lstm(d, in.x.to_vector<double>(), in.kernel.to_vector<double>(),
                                   in.recurrent_kernel.to_vector<double>(), in.bias.to_vector<double>(), sequences,
                                   backwards),
                    1e-12);
      }
  }
}

TEST_CASE("lstm and Bidirectional match Keras' outputs and gradients", "[lstm][bidirectional][keras]") {
  const std::map<std::string, Tensor> keras = read_keras_fixture();
  const auto array = [&](const std::string& name) {
    INFO(name);
    REQUIRE(keras.count(name) == 1);
    return keras.at(name).clone();
  };
  const std::vector<std::string> weight_names{"kernel", "recurrent_kernel", "bias"};
  for (const bool sequences : {false, true}) {
    for (const bool backwards : {false, true}) {
      const std::string c = "lstm_seq" + std::to_string(sequences) + "_back" + std::to_string(backwards);
      INFO(c);
      std::vector<Tensor> leaves{array(c + ".x")};
      for (const std::string& w : weight_names) leaves.push_back(array(c + ".w0." + w));
      for (Tensor& t : leaves) t.set_requires_grad();
      const Tensor y = ops::lstm(leaves[0], leaves[1], leaves[2], leaves[3], {sequences, backwards});
      check_close(y.to_vector<double>(), array(c + ".y").to_vector<double>(), 1e-12);
      y.backward(array(c + ".upstream"));
      check_close(leaves[0].grad().to_vector<double>(), array(c + ".grad.x").to_vector<double>(), 1e-12);
      for (size_t k = 0; k < 3; ++k)
        check_close(leaves[k + 1].grad().to_vector<double>(),
                    array(c + ".grad.w0." + weight_names[k]).to_vector<double>(), 1e-12);
    }
    const std::string c = "bidirectional_seq" + std::to_string(sequences);
    INFO(c);
    nn::Bidirectional bi(nn::LSTM(4, sequences));
    bi.build({5, 3}, DType::f64);
    const std::vector<Tensor> weights = bi.trainable_parameters();  // forward half's three, then backward half's
    for (size_t k = 0; k < 6; ++k)
      weights[k].copy_from(array(c + ".w" + std::to_string(k / 3) + "." + weight_names[k % 3]));
    const Tensor x = array(c + ".x").set_requires_grad();
    const Tensor y = bi(x);
    check_close(y.to_vector<double>(), array(c + ".y").to_vector<double>(), 1e-12);
    y.backward(array(c + ".upstream"));
    check_close(x.grad().to_vector<double>(), array(c + ".grad.x").to_vector<double>(), 1e-12);
    for (size_t k = 0; k < 6; ++k)
      check_close(weights[k].grad().to_vector<double>(),
                  array(c + ".grad.w" + std::to_string(k / 3) + "." + weight_names[k % 3]).to_vector<double>(),
                  1e-12);
  }
}

TEST_CASE("lstm float32 forward matches the float64 one", "[lstm]") {
  const Dims d{4, 7, 5, 16};
  const LstmInputs in = random_inputs(d, 21);
  const Tensor y64 = ops::lstm(in.x, in.kernel, in.recurrent_kernel, in.bias, {true, false});
  const Tensor y32 = ops::lstm(in.x.to(DType::f32), in.kernel.to(DType::f32), in.recurrent_kernel.to(DType::f32),
                               in.bias.to(DType::f32), {true, false});
  check_close(y32.to_vector<double>(), y64.to_vector<double>(), 1e-5);
}

TEST_CASE("lstm forward without a backward to follow gives the same outputs", "[lstm]") {
  // Under NoGrad the CPU keeps one step of gates and states, updated in place;
  // the arithmetic is the same, so the outputs must match bit for bit.
  for (const DType dtype : {DType::f32, DType::f64})
    for (const bool sequences : {false, true})
      for (const bool backwards : {false, true}) {
        INFO("dtype " << dtype_name(dtype) << " return_sequences " << sequences << " go_backwards " << backwards);
        const LstmInputs in = random_inputs(Dims{8, 16, 3, 64}, 13);
        Tensor x = in.x.to(dtype);
        x.set_requires_grad();
        const Tensor kernel = in.kernel.to(dtype), recurrent = in.recurrent_kernel.to(dtype), bias = in.bias.to(dtype);
        const Tensor kept = ops::lstm(x, kernel, recurrent, bias, {sequences, backwards});
        Tensor rings;
        {
          NoGrad inference;
          rings = ops::lstm(x, kernel, recurrent, bias, {sequences, backwards});
        }
        CHECK(rings.to_vector<double>() == kept.to_vector<double>());
      }
}

TEST_CASE("gradcheck lstm", "[gradcheck][lstm]") {
  const Dims d{3, 6, 3, 4};
  for (const bool sequences : {false, true})
    for (const bool backwards : {false, true}) {
      INFO("return_sequences " << sequences << " go_backwards " << backwards);
      const LstmInputs in = random_inputs(d, 31);
      auto r = gradcheck(
          [&](auto& t) { return ops::lstm(t[0], t[1], t[2], t[3], {sequences, backwards}); },
          {in.x, in.kernel, in.recurrent_kernel, in.bias});
      INFO(r.report);
      CHECK(r.ok);
    }
}

TEST_CASE("gradcheck lstm at widths of the register-tiled step GEMMs", "[gradcheck][lstm]") {
  // In float64 (8 lanes): 56 units make the backward's hidden-state GEMM run
  // panels of 4, 2 and 1 vectors and the others panels of 4; 8 features, the
  // input-gradient GEMM one panel of 1; 7 rows, a tile of 6 and one of 1.
  const Dims d{7, 3, 8, 56};
  const LstmInputs in = random_inputs(d, 35);
  for (const bool backwards : {false, true}) {
    INFO("go_backwards " << backwards);
    // atol 1e-7: the loss sums 1,176 outputs, so the central difference's
    // rounding reaches ~2e-8; the gradients checked are 1e-5..1e-3.
    auto r = gradcheck([&](auto& t) { return ops::lstm(t[0], t[1], t[2], t[3], {true, backwards}); },
                       {in.x, in.kernel, in.recurrent_kernel, in.bias}, {.atol = 1e-7});
    INFO(r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("gradcheck lstm through a reused workspace", "[gradcheck][lstm]") {
  const Dims d{2, 5, 2, 3};
  const LstmInputs in = random_inputs(d, 41);
  auto workspace = std::make_shared<ops::LstmWorkspace>();
  auto r = gradcheck(
      [&](auto& t) { return ops::lstm(t[0], t[1], t[2], t[3], {true, false}, workspace); },
      {in.x, in.kernel, in.recurrent_kernel, in.bias});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("gradcheck reverse_steps", "[gradcheck][lstm]") {
  auto r = gradcheck([](auto& t) { return ops::reverse_steps(t[0]); },
                     {random_tensor({2, 5, 3}, 51).set_requires_grad()});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("gradcheck LSTM and Bidirectional layers", "[gradcheck][lstm][bidirectional]") {
  const Tensor x = random_tensor({3, 5, 4}, 61).set_requires_grad();
  for (const bool sequences : {false, true}) {
    INFO("return_sequences " << sequences);
    nn::Bidirectional bi(nn::LSTM(3, sequences));
    bi.build({5, 4}, DType::f64);
    auto r = gradcheck_module(bi, x, true);
    INFO(r.report);
    CHECK(r.ok);
    nn::LSTM backwards(3, sequences, true);
    backwards.build({5, 4}, DType::f64);
    r = gradcheck_module(backwards, x, true);
    INFO(r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("threaded lstm backward matches the single-thread one", "[lstm]") {
  // Big enough for blocks of batch rows, and GEMM blocks, on several threads.
  const Dims d{8, 16, 40, 64};
  for (const bool sequences : {false, true}) {
    std::vector<std::vector<double>> grads[2];
    for (const int threads : {1, 2}) {
      Threads scope(threads);
      const LstmInputs in = random_inputs(d, 71);
      const Tensor y = ops::lstm(in.x, in.kernel, in.recurrent_kernel, in.bias, {sequences, true});
      y.backward(random_tensor(y.shape(), 72));
      for (const Tensor& t : {in.x, in.kernel, in.recurrent_kernel, in.bias})
        grads[threads - 1].push_back(t.grad().to_vector<double>());
    }
    for (size_t k = 0; k < 4; ++k) check_close(grads[1][k], grads[0][k], 1e-12);
  }
}

TEST_CASE("Bidirectional joins the forward half and the realigned backward half", "[lstm][bidirectional]") {
  const Dims d{2, 6, 3, 4};
  const Tensor x = random_tensor({d.batch, d.steps, d.features}, 81);
  for (const bool sequences : {false, true}) {
    INFO("return_sequences " << sequences);
    nn::Bidirectional bi(nn::LSTM(d.units, sequences));
    bi.build({d.steps, d.features}, DType::f64);
    const Tensor y = bi(x);
    const auto reference = [&](nn::LSTM& half, bool backwards) {
      return reference_lstm(d, x.to_vector<double>(), half.kernel.to_vector<double>(),
                            half.recurrent_kernel.to_vector<double>(), half.bias.to_vector<double>(), sequences,
                            backwards);
    };
    const std::vector<double> forward = reference(bi.forward_layer(), false);
    const std::vector<double> backward = reference(bi.backward_layer(), true);
    // Expected: [forward state at t, backward state that read input step t] for each t.
    const int64_t u = d.units, steps = sequences ? d.steps : 1;
    std::vector<double> want;
    for (int64_t n = 0; n < d.batch; ++n)
      for (int64_t t = 0; t < steps; ++t) {
        const int64_t backward_position = sequences ? d.steps - 1 - t : 0;  // reading position of input step t
        for (int64_t j = 0; j < u; ++j) want.push_back(forward[(n * steps + t) * u + j]);
        for (int64_t j = 0; j < u; ++j) want.push_back(backward[(n * steps + backward_position) * u + j]);
      }
    CHECK(y.shape() == (sequences ? Shape{d.batch, d.steps, 2 * u} : Shape{d.batch, 2 * u}));
    check_close(y.to_vector<double>(), want, 1e-12);
  }
}

TEST_CASE("LSTM variables: shapes, Keras' initial values and names", "[lstm]") {
  manual_seed(5);
  nn::LSTM lstm(8, true);
  CHECK(lstm.build({10, 6}) == Shape{10, 8});
  CHECK(lstm.kernel.shape() == Shape{6, 32});
  CHECK(lstm.recurrent_kernel.shape() == Shape{8, 32});
  const auto bias = lstm.bias.to_vector<float>();
  for (int j = 0; j < 32; ++j) CHECK(bias[j] == (j >= 8 && j < 16 ? 1.f : 0.f));  // unit_forget_bias
  // Orthogonal recurrent kernel: its 8 rows are orthonormal.
  const auto r = lstm.recurrent_kernel.to_vector<float>();
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b) {
      double dot = 0;
      for (int k = 0; k < 32; ++k) dot += double(r[a * 32 + k]) * r[b * 32 + k];
      CHECK(dot == Approx(a == b ? 1.0 : 0.0).margin(1e-5));
    }
  // glorot_uniform: |w| <= sqrt(6 / (6 + 32))
  for (float w : lstm.kernel.to_vector<float>()) CHECK(std::abs(w) <= std::sqrt(6.0 / 38.0));
  std::vector<std::string> names;
  for (const nn::Variable& v : lstm.variables()) names.push_back(v.name);
  CHECK(names == std::vector<std::string>{"lstm/kernel", "lstm/recurrent_kernel", "lstm/bias"});
  CHECK(lstm.parameter_count(true) == 4 * 8 * (6 + 8 + 1));
}

TEST_CASE("Bidirectional names its halves as Keras and sums them in one summary row", "[lstm][bidirectional]") {
  nn::Sequential model(nn::Bidirectional(nn::LSTM(128, true)), nn::Bidirectional(nn::LSTM(32)));
  CHECK(model.build({100, 24}) == Shape{64});
  std::vector<std::string> names;
  for (const nn::Variable& v : model.variables()) names.push_back(v.name);
  CHECK(names == std::vector<std::string>{
                     "bidirectional/forward_lstm/kernel", "bidirectional/forward_lstm/recurrent_kernel",
                     "bidirectional/forward_lstm/bias", "bidirectional/backward_lstm/kernel",
                     "bidirectional/backward_lstm/recurrent_kernel", "bidirectional/backward_lstm/bias",
                     "bidirectional_1/forward_lstm_1/kernel", "bidirectional_1/forward_lstm_1/recurrent_kernel",
                     "bidirectional_1/forward_lstm_1/bias", "bidirectional_1/backward_lstm_1/kernel",
                     "bidirectional_1/backward_lstm_1/recurrent_kernel", "bidirectional_1/backward_lstm_1/bias"});
  std::ostringstream summary;
  model.summary(summary);
  CHECK_THAT(summary.str(), Catch::Contains("bidirectional (Bidirectional)") && Catch::Contains("(None, 100, 256)") &&
                                Catch::Contains("156,672") && Catch::Contains("73,984") &&
                                Catch::Contains("Total params: 230,656"));
  CHECK_THAT(summary.str(), !Catch::Contains("forward_lstm"));
}

TEST_CASE("seed models' parameter totals match Keras", "[lstm][bidirectional]") {
  using namespace nn;
  // P1.2 CNN-RNN: 98,510 parameters.
  Sequential p12(Conv2D(8, {4, 4}), MaxPooling2D(2), Conv2D(6, {3, 3}), MaxPooling2D(2), Reshape({324, 6}),
                 LSTM(128, true), LSTM(32), Dense(200, Activation::relu), Dropout(0.2),
                 Dense(8, Activation::softmax));
  p12.build({80, 80, 1});
  CHECK(p12.parameter_count(true) + p12.parameter_count(false) == 98510);
  // P2 CNN-BiLSTM: 245,894 parameters.
  Sequential p2(Conv2D(8, {4, 4}, Padding::same), BatchNormalization(), LeakyReLU(0.3), MaxPooling2D(2),
                Conv2D(6, {3, 3}, Padding::same), BatchNormalization(), LeakyReLU(0.3), MaxPooling2D(2),
                Reshape({100, 24}), Bidirectional(LSTM(128, true)), Bidirectional(LSTM(32)),
                Dense(200, Activation::relu), Dropout(0.3), Dense(8, Activation::softmax));
  CHECK(p2.build({80, 80, 1}) == Shape{8});
  CHECK(p2.parameter_count(true) + p2.parameter_count(false) == 245894);
}

TEST_CASE("lstm_backward adds into its gradients and skips null ones", "[lstm]") {
  const Dims d{3, 5, 2, 4};
  const kernels::LstmGeometry g{d.batch, d.steps, d.features, d.units, true, true};
  const kernels::LstmLayout layout = kernels::lstm_layout(g);
  const LstmInputs in = random_inputs(d, 95);
  const Tensor gy = random_tensor({d.batch, d.steps, d.units}, 96);
  std::vector<double> y(static_cast<size_t>(d.batch * d.steps * d.units)), saved(static_cast<size_t>(layout.saved_size)),
      scratch(static_cast<size_t>(layout.scratch_size));
  kernels::cpu::lstm_forward<double>(g, in.x.data<double>(), in.kernel.data<double>(),
                                     in.recurrent_kernel.data<double>(), in.bias.data<double>(), y.data(),
                                     saved.data());
  // Gradients alone (from zero), then into buffers pre-filled with 0.5 and with x's gradient not asked for.
  const auto run = [&](double prefill, bool with_gx) {
    std::vector<std::vector<double>> grads;
    for (const Tensor& t : {in.x, in.kernel, in.recurrent_kernel, in.bias})
      grads.emplace_back(static_cast<size_t>(t.numel()), prefill);
    kernels::cpu::lstm_backward<double>(g, in.x.data<double>(), in.kernel.data<double>(),
                                        in.recurrent_kernel.data<double>(), saved.data(), gy.data<double>(),
                                        scratch.data(), with_gx ? grads[0].data() : nullptr, grads[1].data(),
                                        grads[2].data(), grads[3].data());
    return grads;
  };
  const auto fresh = run(0.0, true), added = run(0.5, false);
  for (size_t k = 0; k < 4; ++k)
    for (size_t i = 0; i < fresh[k].size(); ++i)
      CHECK(added[k][i] == Approx(k == 0 ? 0.5 : fresh[k][i] + 0.5).epsilon(1e-12));
}

TEST_CASE("lstm workspace reuses buffers only when no graph holds them", "[lstm]") {
  ops::LstmWorkspace workspace;
  const void* first = workspace.saved(100, DType::f32, Device::cpu()).raw_data();
  CHECK(workspace.saved(100, DType::f32, Device::cpu()).raw_data() == first);
  CHECK(workspace.saved(60, DType::f32, Device::cpu()).raw_data() == first);  // a smaller batch fits
  {
    const Tensor held = workspace.saved(100, DType::f32, Device::cpu());
    CHECK(workspace.saved(100, DType::f32, Device::cpu()).raw_data() != held.raw_data());
  }
  CHECK(workspace.saved(100, DType::f64, Device::cpu()).dtype() == DType::f64);

  // Two forwards through one workspace before either backward: both gradients stay right.
  const Dims d{2, 5, 3, 4};
  auto shared = std::make_shared<ops::LstmWorkspace>();
  const LstmInputs a = random_inputs(d, 91), b = random_inputs(d, 92);
  const Tensor ya = ops::lstm(a.x, a.kernel, a.recurrent_kernel, a.bias, {true, false}, shared);
  const Tensor yb = ops::lstm(b.x, b.kernel, b.recurrent_kernel, b.bias, {true, false}, shared);
  const Tensor upstream = random_tensor(ya.shape(), 93);
  ya.backward(upstream);
  yb.backward(upstream);
  const LstmInputs fresh = random_inputs(d, 91);
  ops::lstm(fresh.x, fresh.kernel, fresh.recurrent_kernel, fresh.bias, {true, false}).backward(upstream);
  check_close(a.x.grad().to_vector<double>(), fresh.x.grad().to_vector<double>(), 0);
  check_close(a.recurrent_kernel.grad().to_vector<double>(), fresh.recurrent_kernel.grad().to_vector<double>(), 0);
}

TEST_CASE("LSTM and lstm reject bad input", "[lstm][errors]") {
  CHECK_THROWS_AS(nn::LSTM(0), Error);
  CHECK_THROWS_WITH(nn::LSTM(-3), Catch::Contains("units must be >= 1"));
  nn::LSTM rank3(4);
  CHECK_THROWS_WITH(rank3.build({5, 6, 7}), Catch::Contains("LSTM expects samples (steps, features)"));
  nn::LSTM lstm(4);
  lstm.build({5, 6});
  CHECK_THROWS_AS(lstm(Tensor::zeros({2, 5, 7})), Error);  // wrong feature count after build
  CHECK_THROWS_AS(lstm(Tensor::zeros({2, 30})), Error);    // wrong rank
  CHECK_THROWS_WITH(nn::Bidirectional(lstm), Catch::Contains("not built"));

  const Tensor k = Tensor::zeros({6, 16}), r = Tensor::zeros({4, 16}), b = Tensor::zeros({16});
  CHECK_THROWS_WITH(ops::lstm(Tensor::zeros({5, 6}), k, r, b), Catch::Contains("(batch, steps, features)"));
  CHECK_THROWS_WITH(ops::lstm(Tensor::zeros({2, 5, 7}), k, r, b), Catch::Contains("kernel must be"));
  CHECK_THROWS_WITH(ops::lstm(Tensor::zeros({2, 5, 6}), k, Tensor::zeros({4, 12}), b),
                    Catch::Contains("recurrent_kernel must be"));
  CHECK_THROWS_WITH(ops::lstm(Tensor::zeros({2, 5, 6}), k, r, Tensor::zeros({12})), Catch::Contains("bias must be"));
  CHECK_THROWS_WITH(ops::lstm(Tensor::zeros({2, 0, 6}), k, r, b), Catch::Contains("no steps"));
  CHECK_THROWS_WITH(ops::lstm(Tensor::zeros({2, 5, 6}), k, r, Tensor::zeros({16}, DType::f64)),
                    Catch::Contains("mixed element types"));
  CHECK_THROWS_WITH(ops::reverse_steps(Tensor::zeros({2, 5})), Catch::Contains("(batch, steps, width)"));
}
