// ONNX export: a small model with every exported layer kind is encoded byte for byte as the committed
// tests/fixtures/onnx/every_layer.onnx, and timbre's outputs on the committed inputs match onnxruntime's
// outputs for that file (every_layer.ort_outputs.npy, written by tools/onnx/make_onnx_fixture.py), so the
// export is checked numerically without Python at test time. Set TIMBRE_UPDATE_ONNX_FIXTURE=1 to rewrite
// the model and inputs after a deliberate change, then run the script.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "timbre/data/npy.h"
#include "timbre/data/protowire.h"
#include "timbre/io/onnx.h"
#include "timbre/nn/containers.h"
#include "timbre/nn/layers.h"
#include "timbre/nn/normalization.h"
#include "timbre/nn/recurrent.h"
#include "timbre/train/metrics.h"

using namespace timbre;

namespace {

const std::string fixtures = std::string(TIMBRE_FIXTURES) + "/onnx/";

// Two branches: Normalization, Conv2D (same), BatchNormalization, LeakyReLU, MaxPooling2D, Reshape,
// Bidirectional(LSTM, sequences), LSTM; and Conv2D (valid), MaxPooling2D, Flatten; then Dense (relu),
// Dropout, Dense. Weights from an exact formula (not the initializers), so the bytes match on any machine.
nn::Sequential every_layer_model() {
  nn::Sequential model(
      nn::Normalization(nn::Normalization::Axis::band),
      nn::Concatenate(nn::Sequential(nn::Conv2D(3, {3, 3}, nn::Padding::same), nn::BatchNormalization(),
                                     nn::LeakyReLU(0.3), nn::MaxPooling2D(2), nn::Reshape({4, 12}),
                                     nn::Bidirectional(nn::LSTM(5, true)), nn::LSTM(4)),
                      nn::Sequential(nn::Conv2D(2, {4, 4}), nn::MaxPooling2D(2), nn::Flatten())),
      nn::Dense(6, nn::Activation::relu), nn::Dropout(0.5), nn::Dense(3));
  model.set_name("every_layer");
  model.build({8, 8, 1});
  int64_t k = 0;
  for (const nn::Variable& v : model.variables()) {
    std::vector<double> values(static_cast<size_t>(v.value.numel()));
    for (size_t j = 0; j < values.size(); ++j, ++k) values[j] = static_cast<double>((k * 7919 + 13) % 2001 - 1000) / 800.0;
    const bool positive = v.name.ends_with("variance");
    if (positive)
      for (double& x : values) x = 0.5 + std::abs(x);
    v.value.copy_from(Tensor::from<double>(v.value.shape(), values).to(v.value.dtype()));
  }
  return model;
}

Tensor inputs() {
  std::vector<float> v(2 * 64);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(static_cast<double>((i * 37 + 5) % 101) / 10.0 - 5.0);
  return Tensor::from<float>({2, 8, 8, 1}, v);
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The op types of the graph's nodes, in order (ModelProto.graph = 7, GraphProto.node = 1, NodeProto.op_type = 4).
std::vector<std::string> op_types(const std::string& model) {
  std::vector<std::string> ops;
  data::proto::Reader m(model, "ModelProto");
  data::proto::Field f;
  while (m.next(f)) {
    if (f.number != 7) continue;
    data::proto::Reader graph(f.bytes, "GraphProto");
    data::proto::Field n;
    while (graph.next(n)) {
      if (n.number != 1) continue;
      data::proto::Reader node(n.bytes, "NodeProto");
      data::proto::Field a;
      while (node.next(a))
        if (a.number == 4) ops.emplace_back(a.bytes);
    }
  }
  return ops;
}

}  // namespace

TEST_CASE("ONNX export is byte-stable and agrees with onnxruntime's outputs", "[onnx]") {
  nn::Sequential model = every_layer_model();
  const std::string bytes = io::encode_onnx(model);
  CHECK(io::encode_onnx(model) == bytes);  // nothing but the model decides the bytes
  if (std::getenv("TIMBRE_UPDATE_ONNX_FIXTURE")) {
    std::ofstream(fixtures + "every_layer.onnx", std::ios::binary) << bytes;
    data::write_npy(fixtures + "every_layer.inputs.npy", data::NpyArray::from_tensor(inputs()));
    FAIL("fixture rewritten; now run tools/onnx/make_onnx_fixture.py " << fixtures);
  }
  CHECK(bytes == read(fixtures + "every_layer.onnx"));
  const std::vector<std::string> ops = op_types(bytes);
  for (const char* op : {"Sub", "Mul", "Transpose", "Conv", "BatchNormalization", "LeakyRelu", "MaxPool", "Reshape",
                         "LSTM", "Flatten", "Concat", "MatMul", "Add", "Relu", "Softmax"})
    CHECK(std::count(ops.begin(), ops.end(), op) > 0);
  CHECK(std::count(ops.begin(), ops.end(), "LSTM") == 2);

  const Tensor x = data::read_npy(fixtures + "every_layer.inputs.npy").to_tensor();
  const std::vector<float> ours = train::predict_probabilities(model, x, 8, Device::cpu()).to_vector<float>();
  const std::vector<float> onnxruntime = data::read_npy(fixtures + "every_layer.ort_outputs.npy").to_tensor().to_vector<float>();
  REQUIRE(ours.size() == onnxruntime.size());
  for (size_t i = 0; i < ours.size(); ++i) CHECK(ours[i] == Approx(onnxruntime[i]).margin(1e-6));
}

TEST_CASE("ONNX export names the layer it cannot export", "[onnx][bad-input]") {
  nn::Sequential model(nn::Flatten(), nn::Dense(4, nn::Activation::sigmoid), nn::Dense(2));
  model.build({2, 2, 1});
  CHECK_THROWS_WITH(io::encode_onnx(model), Catch::Contains("Dense activation sigmoid is not exported"));
  nn::Sequential unbuilt(nn::Flatten(), nn::Dense(2));
  CHECK_THROWS_WITH(io::encode_onnx(unbuilt), Catch::Contains("must be built"));
}
