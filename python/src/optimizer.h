// timbre.optimizers.SGD / Adam as Python holds them (train.cpp binds them; io.cpp saves and restores
// their state with a model's checkpoint).
#pragma once

#include <memory>
#include <string>

#include "timbre/core/error.h"
#include "timbre/nn/module.h"
#include "timbre/optim/optimizer.h"

namespace timbre::python {

// An optimizer as Keras users hold it: made with its settings, then created over a model's parameters at the
// model's first fit (timbre's optimizers pack the parameters they are given) and kept for later fits.
class Optimizer {
 public:
  struct Settings {
    std::string name;  // "SGD" or "Adam"
    double learning_rate = 0, momentum = 0;
    bool nesterov = false;
    double beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7;
    double weight_decay = 0, global_clipnorm = 0;
  };
  explicit Optimizer(Settings s) : settings_(std::move(s)) {}

  optim::Optimizer& attach(nn::Module& model) {
    if (live_) {
      check(owner_ == &model, "optimizer", "already trains another model; give each model its own optimizer");
      return *live_;
    }
    const Settings& s = settings_;
    if (s.name == "SGD")
      live_ = std::make_unique<optim::SGD>(model.trainable_parameters(), s.learning_rate, s.momentum, s.nesterov);
    else
      live_ = std::make_unique<optim::Adam>(model.trainable_parameters(), s.learning_rate, s.beta_1, s.beta_2, s.epsilon);
    live_->set_weight_decay(s.weight_decay);
    live_->set_global_clipnorm(s.global_clipnorm);
    owner_ = &model;
    return *live_;
  }
  optim::Optimizer* live() const { return live_.get(); }
  const Settings& settings() const { return settings_; }
  double learning_rate() const { return live_ ? live_->learning_rate() : settings_.learning_rate; }
  void set_learning_rate(double lr) {
    settings_.learning_rate = lr;
    if (live_) live_->set_learning_rate(lr);
  }
  int64_t iterations() const { return live_ ? live_->iterations() : 0; }

 private:
  Settings settings_;
  std::unique_ptr<optim::Optimizer> live_;
  const nn::Module* owner_ = nullptr;
};

}  // namespace timbre::python
