// Keras' training callbacks, with Keras' names, defaults and semantics:
// EarlyStopping, ReduceLROnPlateau and LearningRateScheduler (with the cosine
// and step schedules). fit() calls them around every epoch; checkpoints, the
// history files and the NaN stop are fit()'s own (ModelCheckpoint, CSVLogger
// and TerminateOnNaN in Keras).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "timbre/nn/module.h"
#include "timbre/optim/optimizer.h"
#include "timbre/train/history.h"

namespace timbre::train {

// What a callback may act on.
struct TrainingControl {
  nn::Module& model;
  optim::Optimizer& optimizer;
  std::ostream& log;
  bool stop = false;             // set to end training after this epoch (Keras' model.stop_training)
  bool weights_changed = false;  // set when a callback replaced the weights after the last epoch
};

class Callback {
 public:
  virtual ~Callback() = default;
  // `resumed`: the epochs a resumed run has already trained (empty for a new run), replayed so that a
  // callback's counters continue where they were.
  virtual void on_train_begin(const History& resumed, TrainingControl& control);
  virtual void on_epoch_begin(int64_t epoch, TrainingControl& control);  // epoch is 1-based
  virtual void on_epoch_end(const EpochRecord& record, TrainingControl& control);
  virtual void on_train_end(TrainingControl& control);
  // After each optimizer step: `step` counts the steps of the whole run from 1 (the optimizer's iterations),
  // `loss` and `accuracy` are the batch's (the global batch's loss under data parallelism).
  virtual void on_train_batch_end(int64_t step, double loss, double accuracy, TrainingControl& control);
};

using Callbacks = std::vector<std::shared_ptr<Callback>>;

// The value of `monitor` ("loss", "accuracy", "val_loss", "val_accuracy", "val_song_accuracy",
// "learning_rate") in `record`; throws timbre::Error naming the known keys for any other.
double monitored_value(const EpochRecord& record, const std::string& monitor);
// Keras' mode "auto": accuracies improve upwards, everything else downwards.
bool improves_upwards(const std::string& monitor, const std::string& mode);

// EarlyStopping(monitor="val_loss", min_delta=0, patience=0, mode="auto", restore_best_weights=False).
// With restore_best_weights, the weights of the best epoch seen in this process are put back when training
// ends (after a resume: the best since the resume, or the resumed weights).
struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0;
  int64_t patience = 0;
  std::string mode = "auto";  // auto, min or max
  bool restore_best_weights = false;
};
std::shared_ptr<Callback> early_stopping(const EarlyStoppingOptions& options);

// ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4, cooldown=0,
// min_lr=0).
struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int64_t patience = 10;
  std::string mode = "auto";
  double min_delta = 1e-4;
  int64_t cooldown = 0;
  double min_lr = 0;
};
std::shared_ptr<Callback> reduce_lr_on_plateau(const ReduceLROnPlateauOptions& options);

// LearningRateScheduler(schedule): before each epoch the learning rate becomes schedule(epoch, lr), with
// epoch 0-based as in Keras.
using Schedule = std::function<double(int64_t epoch, double lr)>;
std::shared_ptr<Callback> learning_rate_scheduler(Schedule schedule);

// A linear warm-up from base/warmup_epochs to base over `warmup_epochs`, then Keras' CosineDecay stepped
// per epoch: base * (alpha + (1 - alpha) * (1 + cos(pi * e / E)) / 2) at the e-th of the E remaining epochs
// (so the last epoch still learns; epochs past `epochs` stay at base * alpha).
Schedule cosine_schedule(double base, int64_t epochs, int64_t warmup_epochs = 0, double alpha = 0);
// base * factor^(epoch / every).
Schedule step_schedule(double base, int64_t every, double factor);

}  // namespace timbre::train
