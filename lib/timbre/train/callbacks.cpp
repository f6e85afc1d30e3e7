#include "timbre/train/callbacks.h"

#include <cmath>
#include <limits>
#include <numbers>

#include "timbre/core/error.h"

namespace timbre::train {

void Callback::on_train_begin(const History& /*resumed*/, TrainingControl& /*control*/) {}
void Callback::on_epoch_begin(int64_t /*epoch*/, TrainingControl& /*control*/) {}
void Callback::on_epoch_end(const EpochRecord& /*record*/, TrainingControl& /*control*/) {}
void Callback::on_train_end(TrainingControl& /*control*/) {}
void Callback::on_train_batch_end(int64_t /*step*/, double /*loss*/, double /*accuracy*/, TrainingControl& /*control*/) {}

double monitored_value(const EpochRecord& r, const std::string& monitor) {
  if (monitor == "loss") return r.loss;
  if (monitor == "accuracy") return r.accuracy;
  if (monitor == "val_loss") return r.val_loss;
  if (monitor == "val_accuracy") return r.val_accuracy;
  if (monitor == "val_song_accuracy") return r.val_song_accuracy;
  if (monitor == "learning_rate") return r.learning_rate;
  fail("monitor: unknown quantity \"" + monitor +
       "\"; expected loss, accuracy, val_loss, val_accuracy, val_song_accuracy or learning_rate");
}

bool improves_upwards(const std::string& monitor, const std::string& mode) {
  check(mode == "auto" || mode == "min" || mode == "max", "mode", "expected auto, min or max, got \"", mode, "\"");
  monitored_value(EpochRecord{}, monitor);  // names an unknown monitor at once
  if (mode != "auto") return mode == "max";
  return monitor.find("accuracy") != std::string::npos;
}

namespace {

// The best value so far of a monitored quantity, in its direction.
struct Best {
  bool upwards = false;
  double value = 0;
  void reset() { value = upwards ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity(); }
  // Keras' EarlyStopping._is_improvement and ReduceLROnPlateau's monitor_op: better by more than min_delta.
  bool improved_by(double current, double min_delta) const {
    return upwards ? current - min_delta > value : current + min_delta < value;
  }
};

std::vector<Tensor> snapshot(nn::Module& model) {
  std::vector<Tensor> values;
  for (const nn::Variable& v : model.variables()) values.push_back(v.value.clone());
  return values;
}

class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(const EarlyStoppingOptions& o) : o_(o) {
    check(o.patience >= 0 && o.min_delta >= 0, "EarlyStopping", "patience and min_delta must be >= 0, got ",
          o.patience, " and ", o.min_delta);
    best_.upwards = improves_upwards(o.monitor, o.mode);
  }
  void on_train_begin(const History& resumed, TrainingControl& control) override {
    best_.reset();
    wait_ = 0;
    stopped_epoch_ = 0;
    best_weights_.clear();
    for (const EpochRecord& r : resumed) observe(r);
    if (o_.restore_best_weights && !resumed.empty()) best_weights_ = snapshot(control.model);
  }
  void on_epoch_end(const EpochRecord& r, TrainingControl& control) override {
    if (o_.restore_best_weights && best_weights_.empty()) best_weights_ = snapshot(control.model);
    if (observe(r)) {
      if (o_.restore_best_weights) best_weights_ = snapshot(control.model);
      return;
    }
    if (wait_ >= o_.patience) {
      stopped_epoch_ = r.epoch;
      control.stop = true;
    }
  }
  void on_train_end(TrainingControl& control) override {
    if (stopped_epoch_ > 0)
      control.log << "epoch " << stopped_epoch_ << ": early stopping (" << o_.monitor << " did not improve for "
                  << o_.patience << " epochs)\n";
    if (!o_.restore_best_weights || best_weights_.empty()) return;
    control.log << "restoring the weights from the end of the best epoch: " << best_epoch_ << "\n";
    const std::vector<nn::Variable> variables = control.model.variables();
    for (size_t i = 0; i < variables.size(); ++i) variables[i].value.copy_from(best_weights_[i]);
    control.weights_changed = true;
  }

 private:
  // Counts the epoch; true when it is the best so far.
  bool observe(const EpochRecord& r) {
    ++wait_;
    const double current = monitored_value(r, o_.monitor);
    if (!best_.improved_by(current, o_.min_delta)) return false;
    best_.value = current;
    best_epoch_ = r.epoch;
    wait_ = 0;
    return true;
  }

  EarlyStoppingOptions o_;
  Best best_;
  int64_t wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  std::vector<Tensor> best_weights_;
};

class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(const ReduceLROnPlateauOptions& o) : o_(o) {
    check(o.factor > 0 && o.factor < 1, "ReduceLROnPlateau", "factor must lie in (0, 1), got ", o.factor);
    check(o.patience >= 0 && o.cooldown >= 0 && o.min_delta >= 0 && o.min_lr >= 0, "ReduceLROnPlateau",
          "patience, cooldown, min_delta and min_lr must be >= 0");
    best_.upwards = improves_upwards(o.monitor, o.mode);
  }
  // Replaying the resumed epochs from the optimizer's initial rate gives the rate they ended with.
  void on_train_begin(const History& resumed, TrainingControl& control) override {
    best_.reset();
    wait_ = cooldown_counter_ = 0;
    std::ostream quiet(nullptr);  // the replayed reductions were reported when they happened
    TrainingControl replay{control.model, control.optimizer, quiet};
    for (const EpochRecord& r : resumed) on_epoch_end(r, replay);
  }
  void on_epoch_end(const EpochRecord& r, TrainingControl& control) override {
    const double current = monitored_value(r, o_.monitor);
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      wait_ = 0;
    }
    if (best_.improved_by(current, o_.min_delta)) {
      best_.value = current;
      wait_ = 0;
    } else if (cooldown_counter_ == 0 && ++wait_ >= o_.patience) {
      const double lr = control.optimizer.learning_rate();
      if (lr > o_.min_lr) {
        control.optimizer.set_learning_rate(std::max(lr * o_.factor, o_.min_lr));
        control.log << "epoch " << r.epoch << ": ReduceLROnPlateau reducing the learning rate to "
                    << control.optimizer.learning_rate() << "\n";
        cooldown_counter_ = o_.cooldown;
        wait_ = 0;
      }
    }
  }

 private:
  ReduceLROnPlateauOptions o_;
  Best best_;
  int64_t wait_ = 0, cooldown_counter_ = 0;
};

class LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(Schedule schedule) : schedule_(std::move(schedule)) {
    check(static_cast<bool>(schedule_), "LearningRateScheduler", "no schedule given");
  }
  void on_epoch_begin(int64_t epoch, TrainingControl& control) override {
    control.optimizer.set_learning_rate(schedule_(epoch - 1, control.optimizer.learning_rate()));
  }

 private:
  Schedule schedule_;
};

}  // namespace

std::shared_ptr<Callback> early_stopping(const EarlyStoppingOptions& options) {
  return std::make_shared<EarlyStopping>(options);
}
std::shared_ptr<Callback> reduce_lr_on_plateau(const ReduceLROnPlateauOptions& options) {
  return std::make_shared<ReduceLROnPlateau>(options);
}
std::shared_ptr<Callback> learning_rate_scheduler(Schedule schedule) {
  return std::make_shared<LearningRateScheduler>(std::move(schedule));
}

Schedule cosine_schedule(double base, int64_t epochs, int64_t warmup_epochs, double alpha) {
  check(base > 0 && epochs >= 1 && warmup_epochs >= 0 && warmup_epochs < epochs && alpha >= 0 && alpha < 1,
        "cosine_schedule", "expected base > 0, epochs >= 1, 0 <= warm-up < epochs and alpha in [0, 1), got ", base,
        ", ", epochs, ", ", warmup_epochs, ", ", alpha);
  return [=](int64_t epoch, double /*lr*/) {
    if (epoch < warmup_epochs) return base * static_cast<double>(epoch + 1) / static_cast<double>(warmup_epochs);
    const double progress =
        std::min(static_cast<double>(epoch - warmup_epochs) / static_cast<double>(epochs - warmup_epochs), 1.0);
    return base * (alpha + (1 - alpha) * 0.5 * (1 + std::cos(std::numbers::pi * progress)));
  };
}

Schedule step_schedule(double base, int64_t every, double factor) {
  check(base > 0 && every >= 1 && factor > 0 && factor <= 1, "step_schedule",
        "expected base > 0, every >= 1 and factor in (0, 1], got ", base, ", ", every, ", ", factor);
  return [=](int64_t epoch, double /*lr*/) { return base * std::pow(factor, static_cast<double>(epoch / every)); };
}

}  // namespace timbre::train
