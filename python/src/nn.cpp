// Layers and containers with Keras' names and arguments, and the seed's three models.
#include <nanobind/stl/array.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <sstream>
#include <variant>

#include "bindings.h"
#include "timbre/autograd/grad_mode.h"
#include "timbre/models/seed_models.h"
#include "timbre/nn/containers.h"
#include "timbre/nn/layers.h"
#include "timbre/nn/normalization.h"
#include "timbre/nn/recurrent.h"

namespace timbre::python {

namespace {

using nn::Module;
using ModulePtr = std::shared_ptr<Module>;
using nb::arg;
// Keras takes an int or a pair for kernel sizes, strides and pools.
using IntOrPair = std::variant<int64_t, std::array<int64_t, 2>>;

std::array<int64_t, 2> pair_of(const IntOrPair& v) {
  if (const int64_t* n = std::get_if<int64_t>(&v)) return {*n, *n};
  return std::get<std::array<int64_t, 2>>(v);
}

nn::Activation parse_activation(const std::optional<std::string>& name) {
  const std::string a = name.value_or("linear");
  for (nn::Activation k : {nn::Activation::linear, nn::Activation::relu, nn::Activation::sigmoid, nn::Activation::tanh,
                           nn::Activation::softmax})
    if (nn::activation_name(k) == a) return k;
  throw nb::value_error(("activation: expected None, 'linear', 'relu', 'sigmoid', 'tanh' or 'softmax', got '" + a + "'").c_str());
}

ops::Padding parse_padding(const std::string& p) {
  if (p == "valid") return ops::Padding::valid;
  if (p == "same") return ops::Padding::same;
  throw nb::value_error(("padding: expected 'valid' or 'same', got '" + p + "'").c_str());
}

nn::Normalization::Axis parse_axis(const std::string& spec) {
  nn::Normalization::Axis axis = nn::Normalization::Axis::band;
  if (!nn::parse_normalization_axis(spec, axis))
    throw nb::value_error(("axis: expected 'band', 'global', 'channel' or 'element', got '" + spec + "'").c_str());
  return axis;
}

nb::dict variables_of(Module& m) {
  nb::dict out;
  for (const nn::Variable& v : m.variables()) out[v.name.c_str()] = v.value;
  return out;
}

std::string summary_text(Module& m) {
  std::ostringstream out;
  m.summary(out);
  return out.str();
}

// The layer in inference mode without autograd on a batch: for trying a layer out and for tests.
nb::ndarray<nb::numpy> call_module(Module& m, nb::handle x) {
  if (!m.built()) throw nb::value_error((m.type_name() + ": build it (build(input_shape)) before calling it").c_str());
  const Tensor input = wrap_batch(x, "x", m.input_shape());
  Tensor y;
  {
    nb::gil_scoped_release released;
    NoGrad no_grad;
    y = m(input);
  }
  return to_numpy(y);
}

// The layers named in order, a layer's children for a container (a Sequential's layers, a Concatenate's branches).
nb::list layers_of(nb::handle self) {
  nb::list out;
  for (Module* child : nb::cast<Module&>(self).children())
    out.append(nb::cast(child, nb::rv_policy::reference_internal, self));
  return out;
}

void bind_module(nb::module_& m) {
  nb::class_<Module>(m, "Layer", "A layer or a container of layers (Keras' Layer).")
      .def_prop_rw("name", &Module::name, [](Module& self, std::string n) { self.set_name(std::move(n)); })
      .def_prop_ro("type_name", &Module::type_name)
      .def_prop_ro("built", &Module::built)
      .def_prop_ro("input_shape", [](const Module& s) { return shape_tuple(s.input_shape()); })
      .def_prop_ro("output_shape", [](const Module& s) { return shape_tuple(s.output_shape()); })
      .def_prop_rw("training", &Module::training, &Module::set_training)
      .def_prop_ro("layers", &layers_of)
      .def_prop_ro("variables", &variables_of, "Every variable by qualified name ('conv2d/kernel'), as Tensors.")
      .def("count_params", &Module::parameter_count, arg("trainable"))
      .def("build", [](Module& self, nb::handle shape) { return shape_tuple(self.build(shape_of(shape, "input_shape"))); },
           arg("input_shape"), "Creates the variables for samples of `input_shape` (no batch axis); returns the output shape.")
      .def("summary_text", &summary_text)
      .def("__call__", &call_module, arg("x"));
}

void bind_layers(nb::module_& m) {
  nb::class_<nn::Conv2D, Module>(m, "Conv2D")
      .def("__init__",
           [](nn::Conv2D* self, int64_t filters, IntOrPair kernel_size, IntOrPair strides, const std::string& padding,
              std::optional<std::string> activation, bool use_bias) {
             new (self) nn::Conv2D(filters, pair_of(kernel_size), parse_padding(padding), pair_of(strides),
                                   parse_activation(activation), use_bias);
           },
           arg("filters"), arg("kernel_size"), arg("strides") = 1, arg("padding") = "valid",
           arg("activation") = nb::none(), arg("use_bias") = true);
  nb::class_<nn::Dense, Module>(m, "Dense")
      .def("__init__",
           [](nn::Dense* self, int64_t units, std::optional<std::string> activation, bool use_bias) {
             new (self) nn::Dense(units, parse_activation(activation), use_bias);
           },
           arg("units"), arg("activation") = nb::none(), arg("use_bias") = true);
  nb::class_<nn::MaxPooling2D, Module>(m, "MaxPooling2D")
      .def("__init__",
           [](nn::MaxPooling2D* self, IntOrPair pool_size, std::optional<IntOrPair> strides) {
             new (self) nn::MaxPooling2D(pair_of(pool_size), strides ? pair_of(*strides) : std::array<int64_t, 2>{0, 0});
           },
           arg("pool_size") = 2, arg("strides") = nb::none());
  nb::class_<nn::BatchNormalization, Module>(m, "BatchNormalization")
      .def("__init__",
           [](nn::BatchNormalization* self, double momentum, double epsilon) {
             new (self) nn::BatchNormalization(ops::BatchNormOptions{momentum, epsilon});
           },
           arg("momentum") = 0.99, arg("epsilon") = 1e-3);
  nb::class_<nn::LeakyReLU, Module>(m, "LeakyReLU").def(nb::init<double>(), arg("negative_slope") = 0.3);
  nb::class_<nn::ActivationLayer, Module>(m, "Activation")
      .def("__init__", [](nn::ActivationLayer* self, std::optional<std::string> a) {
        new (self) nn::ActivationLayer(parse_activation(a));
      }, arg("activation"));
  nb::class_<nn::Dropout, Module>(m, "Dropout").def(nb::init<double>(), arg("rate"));
  nb::class_<nn::Flatten, Module>(m, "Flatten").def(nb::init<>());
  nb::class_<nn::Reshape, Module>(m, "Reshape")
      .def("__init__", [](nn::Reshape* self, nb::handle target) { new (self) nn::Reshape(shape_of(target, "target_shape")); },
           arg("target_shape"));
  nb::class_<nn::LSTM, Module>(m, "LSTM")
      .def(nb::init<int64_t, bool, bool>(), arg("units"), arg("return_sequences") = false, arg("go_backwards") = false);
  nb::class_<nn::Bidirectional, Module>(m, "Bidirectional").def(nb::init<nn::LSTM>(), arg("layer"));
  nb::class_<nn::Normalization, Module>(m, "Normalization")
      .def("__init__", [](nn::Normalization* self, const std::string& axis) { new (self) nn::Normalization(parse_axis(axis)); },
           arg("axis") = "band")
      .def("adapt",
           [](nn::Normalization& self, nb::handle x) {
             const Tensor data = wrap_array(x, "x");
             nb::gil_scoped_release released;
             self.adapt(data);
           },
           arg("x"), "Learns the mean and variance of `x` (N, sample...).")
      .def_prop_ro("adapted", [](nn::Normalization& self) { return self.built() && self.count.item<double>() > 0; });
}

void bind_containers(nb::module_& m) {
  nb::class_<nn::Sequential, Module>(m, "Sequential")
      .def("__init__",
           [](nn::Sequential* self, const std::vector<ModulePtr>& layers) {
             new (self) nn::Sequential();
             for (const ModulePtr& layer : layers) self->add(layer);
           },
           arg("layers") = std::vector<ModulePtr>{})
      .def("add", [](nn::Sequential& self, ModulePtr layer) { self.add(std::move(layer)); }, arg("layer"))
      .def("fused_runs", [](const nn::Sequential& self) { return self.fused_runs(); });
  nb::class_<nn::Concatenate, Module>(m, "Concatenate",
                                      "Parallel branches on the same input, joined along the last axis.")
      .def("__init__",
           [](nn::Concatenate* self, const std::vector<ModulePtr>& branches) {
             new (self) nn::Concatenate();
             for (const ModulePtr& branch : branches) self->add(branch);
           },
           arg("branches"));
}

// The first layer when it is a Normalization (the trainers' input layer), else null.
nn::Normalization* input_normalization(Module& model) {
  Module* first = &model;
  while (!first->children().empty() && dynamic_cast<nn::Sequential*>(first)) first = first->children().front();
  return dynamic_cast<nn::Normalization*>(first);
}

ModulePtr seed_model(const std::string& name, int64_t classes, const std::string& normalize, nb::handle adapt_on) {
  const models::SeedModel& spec = models::seed_model(name);
  const Tensor data = adapt_on.is_none() ? Tensor() : wrap_batch(adapt_on, "adapt", models::patch_shape);
  nb::gil_scoped_release released;
  return std::make_shared<nn::Sequential>(models::make_trainer_model(spec, classes, normalize, data));
}

nb::list seed_model_specs() {
  nb::list out;
  for (const models::SeedModel& s : models::seed_models()) {
    nb::dict d;
    d["name"] = s.name;
    d["title"] = s.title;
    d["optimizer"] = models::optimizer_name(s.optimizer);
    d["learning_rate"] = s.learning_rate;
    d["momentum"] = s.momentum;
    d["keras_parameters"] = s.keras_parameters;
    out.append(d);
  }
  return out;
}

}  // namespace

void bind_nn(nb::module_& m) {
  bind_module(m);
  bind_layers(m);
  bind_containers(m);
  m.def("seed_model", &seed_model, arg("name"), arg("classes") = 8, arg("normalize") = "band",
        arg("adapt") = nb::none(),
        "One of the seed's models, built for (80, 80, 1) patches; with `normalize` 'band' or 'global' an input "
        "Normalization comes first (adapted on `adapt` when given), as the trainers build it.");
  m.def("seed_models", &seed_model_specs, "The seed models and their recipes.");
  m.def("input_normalization", [](nb::handle model) -> nb::object {
    nn::Normalization* n = input_normalization(nb::cast<Module&>(model));
    return n ? nb::cast(n, nb::rv_policy::reference_internal, model) : nb::none();
  }, arg("model"), "The model's first layer when it is a Normalization, else None.");
}

}  // namespace timbre::python
