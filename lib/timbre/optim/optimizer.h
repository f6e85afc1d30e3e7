// Optimizers with Keras' update rules. On construction the trainable
// parameters are packed into one contiguous arena (each parameter becomes a
// view into it) and so are their gradients, so zero_grad() is one fill and a
// step is one kernel over every parameter at once (as llm.c does).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "timbre/core/tensor.h"

namespace timbre::optim {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> parameters);
  virtual ~Optimizer() = default;

  void zero_grad();
  // One update from the accumulated gradients, in Keras 3's order: the gradients clipped to a global norm
  // of at most global_clipnorm (when set), every value shrunk by learning_rate * weight_decay of itself
  // (decoupled, as Keras 3's weight_decay and AdamW do; when set), then the optimizer's rule.
  void step();

  int64_t iterations() const { return iterations_; }
  double learning_rate() const { return lr_; }
  void set_learning_rate(double lr);
  double weight_decay() const { return weight_decay_; }
  void set_weight_decay(double weight_decay);
  double global_clipnorm() const { return global_clipnorm_; }
  void set_global_clipnorm(double max_norm);  // 0: no clipping
  // The arenas: all parameter values, all gradients, and named state (velocity, m, v).
  const Tensor& values() const { return values_; }
  const Tensor& gradients() const { return gradients_; }
  std::map<std::string, Tensor>& state() { return state_; }
  void set_iterations(int64_t n) { iterations_ = n; }

 protected:
  virtual void update() = 0;  // apply one step; iterations_ already counts it
  Tensor& add_state(const std::string& name);

  double lr_ = 0.01;
  double weight_decay_ = 0;
  double global_clipnorm_ = 0;
  int64_t iterations_ = 0;
  Tensor values_, gradients_;
  std::map<std::string, Tensor> state_;
};

// SGD(learning_rate = 0.01, momentum = 0, nesterov = false), Keras' defaults.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> parameters, double learning_rate = 0.01, double momentum = 0.0, bool nesterov = false);

 protected:
  void update() override;

 private:
  double momentum_;
  bool nesterov_;
};

// Adam(learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7), Keras' defaults.
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> parameters, double learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.999,
       double epsilon = 1e-7);

 protected:
  void update() override;

 private:
  double beta_1_, beta_2_, epsilon_;
};

}  // namespace timbre::optim
