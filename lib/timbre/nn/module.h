// Module: a layer or a container of layers, built lazily from the per-sample
// input shape as in Keras (Conv2D(8, {4, 4}) learns its input channels when
// the model is built). Variables carry Keras' names (kernel, bias, gamma, beta,
// moving_mean, moving_variance); trainable ones receive gradients, the rest
// (moving statistics) are buffers updated by the layer itself.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "timbre/core/tensor.h"

namespace timbre::nn {

struct Variable {
  std::string name;  // "kernel"; qualified by the layer's name in Module::variables()
  Tensor value;
  bool trainable = true;
};

class Module {
 public:
  virtual ~Module() = default;

  // Creates the variables for inputs of per-sample shape `input` (no batch
  // axis) and returns the per-sample output shape. Containers build their
  // children and name every layer uniquely, as Keras does (dense, dense_1, ...).
  Shape build(const Shape& input, DType dtype = DType::f32);
  bool built() const { return built_; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }
  DType dtype() const { return dtype_; }

  // Runs the layer on a batch (N, input_shape...). Checks the input against the built shape.
  Tensor operator()(const Tensor& x);

  // Training mode (Dropout active, BatchNorm on batch statistics) or inference.
  void set_training(bool training);
  bool training() const { return training_; }

  // The unique name given when the model is built ("conv2d_1"), or one set by the user.
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  virtual std::string type_name() const = 0;  // Keras' class name: "Conv2D"
  virtual std::vector<Module*> children() { return {}; }
  // Containers that only route data (Sequential, Concatenate) leave their name
  // out of their variables' qualified names.
  virtual bool transparent() const { return false; }

  // This module's own variables, then its children's, names qualified as "layer/variable".
  std::vector<Variable> variables();
  std::vector<Tensor> trainable_parameters();
  int64_t parameter_count(bool trainable);

  // Moves every variable to `device`; do it before creating the optimizer.
  void to(Device device);

  // Prints a Keras-style summary: each layer, its output shape and parameter count, and the totals.
  void summary(std::ostream& out);
  struct SummaryRow {
    std::string layer, type;
    Shape output_shape;
    int64_t parameters;
  };
  // The rows this module adds to a summary: one for a layer; its children's (and its own) for a container.
  virtual void summary_rows(std::vector<SummaryRow>& rows);

 protected:
  virtual Shape on_build(const Shape& input) = 0;
  virtual Tensor forward(const Tensor& x) = 0;
  // Called by layers from on_build(): a variable of this module's dtype.
  Tensor& add_variable(const std::string& name, Tensor value, bool trainable = true);
  // Keras' base name for auto-naming ("conv2d" for Conv2D).
  virtual std::string base_name() const;

 private:
  void assign_names();
  void collect_variables(std::vector<Variable>& out, const std::string& prefix);

  std::string name_;
  std::vector<Variable> own_;
  bool built_ = false;
  bool training_ = false;
  Shape input_shape_, output_shape_;
  DType dtype_ = DType::f32;
};

using ModulePtr = std::shared_ptr<Module>;

// Wraps a layer value into a shared module pointer (containers take layers by value).
template <class M>
ModulePtr make_module(M&& m) {
  if constexpr (std::is_convertible_v<M, ModulePtr>)
    return m;
  else
    return std::make_shared<std::decay_t<M>>(std::forward<M>(m));
}

}  // namespace timbre::nn
