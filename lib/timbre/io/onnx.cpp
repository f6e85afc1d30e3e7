#include "timbre/io/onnx.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "timbre/core/error.h"
#include "timbre/data/protowire.h"
#include "timbre/io/atomic_file.h"
#include "timbre/nn/containers.h"
#include "timbre/nn/layers.h"
#include "timbre/nn/normalization.h"
#include "timbre/nn/recurrent.h"

namespace timbre::io {

namespace {

using data::proto::Writer;

constexpr int64_t kIrVersion = 8, kOpset = 17;
constexpr int kFloat = 1, kInt64 = 7;                              // TensorProto.DataType
constexpr int kAttrFloat = 1, kAttrInt = 2, kAttrString = 3, kAttrInts = 7;  // AttributeProto.AttributeType

struct Attribute {
  std::string name;
  int type;
  double f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<int64_t> ints;
};
Attribute attr_int(std::string name, int64_t v) { return {std::move(name), kAttrInt, 0, v, {}, {}}; }
Attribute attr_float(std::string name, double v) { return {std::move(name), kAttrFloat, v, 0, {}, {}}; }
Attribute attr_string(std::string name, std::string v) { return {std::move(name), kAttrString, 0, 0, std::move(v), {}}; }
Attribute attr_ints(std::string name, std::vector<int64_t> v) { return {std::move(name), kAttrInts, 0, 0, {}, std::move(v)}; }

// A value of the graph and whether its 4-D layout is ONNX's NCHW (else Keras' NHWC).
struct Value {
  std::string name;
  bool nchw = false;
};

class Graph {
 public:
  // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5. The node and its first output are named
  // `name`, else a fresh name from `op`; further outputs get "_1", "_2", ...
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<Attribute>& attributes = {}, int outputs = 1, const std::string& name = "") {
    Writer n;
    for (const std::string& in : inputs) n.bytes(1, in);
    const std::string out = name.empty() ? fresh(op) : name;
    for (int k = 0; k < outputs; ++k) n.bytes(2, k == 0 ? out : out + "_" + std::to_string(k));
    n.bytes(3, out);
    n.bytes(4, op);
    for (const Attribute& a : attributes) n.bytes(5, encode(a));
    graph_.bytes(1, n.str());
    return out;
  }
  // An initializer (TensorProto: dims 1, data_type 2, name 8, raw_data 9).
  std::string constant(const std::string& base, const std::vector<int64_t>& dims, const std::vector<float>& values) {
    std::string raw(values.size() * 4, '\0');
    for (size_t i = 0; i < values.size(); ++i) {
      const uint32_t bits = std::bit_cast<uint32_t>(values[i]);
      for (int b = 0; b < 4; ++b) raw[4 * i + static_cast<size_t>(b)] = static_cast<char>((bits >> (8 * b)) & 0xff);
    }
    return initializer(base, dims, kFloat, raw);
  }
  std::string int64_constant(const std::string& base, const std::vector<int64_t>& values) {
    std::string raw(values.size() * 8, '\0');
    for (size_t i = 0; i < values.size(); ++i)
      for (int b = 0; b < 8; ++b)
        raw[8 * i + static_cast<size_t>(b)] = static_cast<char>((static_cast<uint64_t>(values[i]) >> (8 * b)) & 0xff);
    return initializer(base, {static_cast<int64_t>(values.size())}, kInt64, raw);
  }
  void add_io(uint32_t field, const std::string& name, const std::vector<int64_t>& dims) {
    // ValueInfoProto { name 1; type 2 { tensor_type 1 { elem_type 1; shape 2 { dim 1 { value 1 | param 2 } } } } }
    Writer shape;
    for (int64_t d : dims) {
      Writer dim;
      if (d < 0)
        dim.bytes(2, "batch");
      else
        dim.varint(1, static_cast<uint64_t>(d));
      shape.bytes(1, dim.str());
    }
    Writer tensor_type, type, info;
    tensor_type.varint(1, kFloat);
    tensor_type.bytes(2, shape.str());
    type.bytes(1, tensor_type.str());
    info.bytes(1, name);
    info.bytes(2, type.str());
    graph_.bytes(field, info.str());
  }
  std::string model(const std::string& graph_name) {
    Writer g;
    g.bytes(2, graph_name);
    const std::string body = graph_.str() + g.str() + initializers_.str();
    Writer opset, m;
    opset.bytes(1, "");
    opset.varint(2, kOpset);
    m.varint(1, kIrVersion);
    m.bytes(2, "timbre");
    m.bytes(7, body);
    m.bytes(8, opset.str());
    return m.str();
  }

 private:
  std::string fresh(const std::string& base) { return base + "_" + std::to_string(count_++); }
  std::string initializer(const std::string& base, const std::vector<int64_t>& dims, int type, const std::string& raw) {
    Writer t;
    for (int64_t d : dims) t.varint(1, static_cast<uint64_t>(d));
    t.varint(2, static_cast<uint64_t>(type));
    const std::string name = fresh(base);
    t.bytes(8, name);
    t.bytes(9, raw);
    initializers_.bytes(5, t.str());
    return name;
  }
  static std::string encode(const Attribute& a) {  // AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20
    Writer w;
    w.bytes(1, a.name);
    if (a.type == kAttrFloat) w.fixed32(2, std::bit_cast<uint32_t>(static_cast<float>(a.f)));
    if (a.type == kAttrInt) w.varint(3, static_cast<uint64_t>(a.i));
    if (a.type == kAttrString) w.bytes(4, a.s);
    for (int64_t v : a.ints) w.varint(8, static_cast<uint64_t>(v));
    w.varint(20, static_cast<uint64_t>(a.type));
    return w.str();
  }
  Writer graph_, initializers_;
  int count_ = 0;
};

std::vector<float> floats(const Tensor& t) { return t.to(Device::cpu()).to_vector<float>(); }

Value to_layout(Graph& g, Value v, bool nchw) {
  if (v.nchw == nchw) return v;
  return {g.node("Transpose", {v.name}, {attr_ints("perm", nchw ? std::vector<int64_t>{0, 3, 1, 2}
                                                                : std::vector<int64_t>{0, 2, 3, 1})}),
          nchw};
}

// Keras' (KH, KW, Cin, Cout) kernel as ONNX's (Cout, Cin, KH, KW).
std::string conv_weights(Graph& g, const Tensor& kernel) {
  const Shape& k = kernel.shape();
  const std::vector<float> w = floats(kernel);
  std::vector<float> out(w.size());
  for (int64_t y = 0; y < k[0]; ++y)
    for (int64_t x = 0; x < k[1]; ++x)
      for (int64_t c = 0; c < k[2]; ++c)
        for (int64_t m = 0; m < k[3]; ++m)
          out[static_cast<size_t>(((m * k[2] + c) * k[0] + y) * k[1] + x)] =
              w[static_cast<size_t>(((y * k[1] + x) * k[2] + c) * k[3] + m)];
  return g.constant("conv_weights", {k[3], k[2], k[0], k[1]}, out);
}

Value conv2d(Graph& g, nn::Conv2D& conv, Value x) {
  const ops::Conv2dOptions o = conv.options();
  const int64_t kh = conv.kernel.dim(0), kw = conv.kernel.dim(1);
  std::vector<int64_t> pads = {0, 0, 0, 0};
  if (o.padding == ops::Padding::same) pads = {(kh - 1) / 2, (kw - 1) / 2, kh - 1 - (kh - 1) / 2, kw - 1 - (kw - 1) / 2};
  x = to_layout(g, x, true);
  std::vector<std::string> inputs = {x.name, conv_weights(g, conv.kernel)};
  if (conv.bias.defined()) inputs.push_back(g.constant("conv_bias", {conv.bias.dim(0)}, floats(conv.bias)));
  check(conv.activation() == nn::Activation::linear, "save_onnx", "layer ", conv.name(), ": a Conv2D activation is not exported");
  return {g.node("Conv", inputs,
                 {attr_ints("kernel_shape", {kh, kw}), attr_ints("strides", {o.stride_h, o.stride_w}), attr_ints("pads", pads)}),
          true};
}

// Keras' LSTM weights of `layers` (one per direction) as ONNX's W, R and B, gates i,f,c,o -> i,o,f,c.
std::vector<std::string> lstm_weights(Graph& g, const std::vector<nn::LSTM*>& layers) {
  const int64_t units = layers[0]->units(), features = layers[0]->kernel.dim(0);
  constexpr int64_t keras_gate[4] = {0, 3, 1, 2};  // ONNX gate k is Keras gate keras_gate[k]
  std::vector<float> w, r, b;
  for (nn::LSTM* layer : layers) {
    const std::vector<float> kernel = floats(layer->kernel), recurrent = floats(layer->recurrent_kernel),
                             bias = floats(layer->bias);
    auto rows = [&](const std::vector<float>& m, int64_t inputs, std::vector<float>& out) {
      for (int64_t gate = 0; gate < 4; ++gate)
        for (int64_t h = 0; h < units; ++h)
          for (int64_t i = 0; i < inputs; ++i)
            out.push_back(m[static_cast<size_t>(i * 4 * units + keras_gate[gate] * units + h)]);
    };
    rows(kernel, features, w);
    rows(recurrent, units, r);
    for (int64_t gate = 0; gate < 4; ++gate)
      for (int64_t h = 0; h < units; ++h) b.push_back(bias[static_cast<size_t>(keras_gate[gate] * units + h)]);
    b.insert(b.end(), static_cast<size_t>(4 * units), 0.f);  // ONNX's recurrent bias: Keras has one bias
  }
  const auto directions = static_cast<int64_t>(layers.size());
  return {g.constant("lstm_W", {directions, 4 * units, features}, w),
          g.constant("lstm_R", {directions, 4 * units, units}, r), g.constant("lstm_B", {directions, 8 * units}, b)};
}

// An LSTM over (batch, steps, features): Keras' output, the sequence (batch, steps, directions * units) or the
// last state (batch, directions * units), directions side by side. ONNX's LSTM runs steps first (layout 0:
// onnxruntime supports no other), so Transposes go around it.
Value lstm(Graph& g, const std::vector<nn::LSTM*>& layers, Value x) {
  nn::LSTM& first = *layers[0];
  check(layers.size() == 2 || !first.go_backwards(), "save_onnx", "layer ", first.name(),
        ": go_backwards outside Bidirectional is not exported");
  std::vector<std::string> inputs = {g.node("Transpose", {x.name}, {attr_ints("perm", {1, 0, 2})})};
  for (const std::string& w : lstm_weights(g, layers)) inputs.push_back(w);
  const std::string y = g.node(
      "LSTM", inputs,
      {attr_int("hidden_size", first.units()),
       attr_string("direction", layers.size() == 2 ? "bidirectional" : "forward")},
      2);
  // Y (steps, directions, batch, units); Y_h (directions, batch, units).
  const bool sequence = first.return_sequences();
  const std::string batch_first =
      g.node("Transpose", {sequence ? y : y + "_1"},
             {attr_ints("perm", sequence ? std::vector<int64_t>{2, 0, 1, 3} : std::vector<int64_t>{1, 0, 2})});
  const std::string shape = g.int64_constant("shape", sequence ? std::vector<int64_t>{0, 0, -1} : std::vector<int64_t>{0, -1});
  return {g.node("Reshape", {batch_first, shape})};
}

Value normalization(Graph& g, nn::Normalization& norm, Value x) {
  const Shape sample = norm.input_shape();
  std::vector<int64_t> dims(static_cast<size_t>(sample.rank() + 1), 1);
  switch (norm.axis()) {
    case nn::Normalization::Axis::global: break;
    case nn::Normalization::Axis::band: dims[1] = sample[0]; break;
    case nn::Normalization::Axis::channel: dims.back() = sample[-1]; break;
    case nn::Normalization::Axis::element:
      for (int64_t d = 0; d < sample.rank(); ++d) dims[static_cast<size_t>(d + 1)] = sample[d];
      break;
  }
  // As ops::normalize computes it in float32: (x - mean) * (1 / max(sqrt(variance), 1e-7)).
  const std::vector<float> mean = floats(norm.mean), variance = floats(norm.variance);
  std::vector<float> scale;
  for (float v : variance) scale.push_back(1.f / std::max(std::sqrt(v), 1e-7f));
  x = to_layout(g, x, false);
  const std::string centred = g.node("Sub", {x.name, g.constant("norm_mean", dims, mean)});
  return {g.node("Mul", {centred, g.constant("norm_scale", dims, scale)})};
}

Value emit(Graph& g, nn::Module& m, Value x);

Value emit_children(Graph& g, nn::Module& m, Value x) {
  for (nn::Module* child : m.children()) x = emit(g, *child, x);
  return x;
}

Value emit(Graph& g, nn::Module& m, Value x) {
  if (dynamic_cast<nn::Sequential*>(&m)) return emit_children(g, m, x);
  if (dynamic_cast<nn::Concatenate*>(&m)) {
    std::vector<std::string> branches;
    for (nn::Module* branch : m.children()) branches.push_back(to_layout(g, emit(g, *branch, x), false).name);
    return {g.node("Concat", branches, {attr_int("axis", -1)})};
  }
  if (auto* norm = dynamic_cast<nn::Normalization*>(&m)) return normalization(g, *norm, x);
  if (auto* conv = dynamic_cast<nn::Conv2D*>(&m)) return conv2d(g, *conv, x);
  if (auto* bn = dynamic_cast<nn::BatchNormalization*>(&m)) {
    check(m.input_shape().rank() == 3, "save_onnx", "layer ", m.name(), ": BatchNormalization is exported on 4-D inputs");
    x = to_layout(g, x, true);
    const int64_t c = bn->gamma.dim(0);
    return {g.node("BatchNormalization",
                   {x.name, g.constant("bn_scale", {c}, floats(bn->gamma)), g.constant("bn_bias", {c}, floats(bn->beta)),
                    g.constant("bn_mean", {c}, floats(bn->moving_mean)),
                    g.constant("bn_var", {c}, floats(bn->moving_variance))},
                   {attr_float("epsilon", bn->options().epsilon)}),
            true};
  }
  if (auto* leaky = dynamic_cast<nn::LeakyReLU*>(&m))
    return {g.node("LeakyRelu", {x.name}, {attr_float("alpha", leaky->negative_slope())}), x.nchw};
  if (auto* pool = dynamic_cast<nn::MaxPooling2D*>(&m)) {
    const ops::Pool2dOptions o = pool->options();
    x = to_layout(g, x, true);
    return {g.node("MaxPool", {x.name},
                   {attr_ints("kernel_shape", {o.pool_h, o.pool_w}),
                    attr_ints("strides", {o.stride_h ? o.stride_h : o.pool_h, o.stride_w ? o.stride_w : o.pool_w})}),
            true};
  }
  if (dynamic_cast<nn::Flatten*>(&m)) return {g.node("Flatten", {to_layout(g, x, false).name}, {attr_int("axis", 1)})};
  if (auto* reshape = dynamic_cast<nn::Reshape*>(&m)) {
    std::vector<int64_t> shape = {0};
    for (int64_t d : reshape->target().dims()) shape.push_back(d);
    return {g.node("Reshape", {to_layout(g, x, false).name, g.int64_constant("shape", shape)})};
  }
  if (dynamic_cast<nn::Dropout*>(&m)) return x;  // identity in inference
  if (auto* dense = dynamic_cast<nn::Dense*>(&m)) {
    const int64_t in = dense->kernel.dim(0), out = dense->kernel.dim(1);
    std::string y = g.node("MatMul", {to_layout(g, x, false).name, g.constant("dense_kernel", {in, out}, floats(dense->kernel))});
    if (dense->bias.defined()) y = g.node("Add", {y, g.constant("dense_bias", {out}, floats(dense->bias))});
    check(dense->activation() == nn::Activation::linear || dense->activation() == nn::Activation::relu, "save_onnx",
          "layer ", m.name(), ": Dense activation ", nn::activation_name(dense->activation()), " is not exported");
    if (dense->activation() == nn::Activation::relu) y = g.node("Relu", {y});
    return {y};
  }
  if (auto* bi = dynamic_cast<nn::Bidirectional*>(&m)) return lstm(g, {&bi->forward_layer(), &bi->backward_layer()}, x);
  if (auto* layer = dynamic_cast<nn::LSTM*>(&m)) return lstm(g, {layer}, x);
  fail("save_onnx: layer " + m.name() + " (" + m.type_name() + ") is not supported by the ONNX export");
}

}  // namespace

std::string encode_onnx(nn::Module& model) {
  check(model.built(), "save_onnx", "the model must be built");
  check(model.output_shape().rank() == 1, "save_onnx", "expected a model giving (batch, classes), it gives ",
        model.output_shape().prepend(-1));
  Graph g;
  std::vector<int64_t> input = {-1};
  for (int64_t d : model.input_shape().dims()) input.push_back(d);
  g.add_io(11, "patches", input);
  const Value logits = emit(g, model, {"patches", false});
  g.node("Softmax", {logits.name}, {attr_int("axis", -1)}, 1, "probabilities");
  g.add_io(12, "probabilities", {-1, model.output_shape()[0]});
  return g.model(model.name().empty() ? "timbre" : model.name());
}

void save_onnx(nn::Module& model, const std::filesystem::path& path) { write_file_atomically(path, encode_onnx(model)); }

}  // namespace timbre::io
