// Optimizers, callbacks (timbre's own and Keras-style Python ones), and the
// training, prediction and evaluation calls, which run without the GIL.
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <optional>
#include <sstream>

#include "bindings.h"
#include "optimizer.h"
#include "timbre/data/augment.h"
#include "timbre/data/dataset.h"
#include "timbre/optim/optimizer.h"
#include "timbre/train/callbacks.h"
#include "timbre/train/fit.h"
#include "timbre/train/metrics.h"
#include "timbre/train/tensorboard.h"

namespace timbre::python {

namespace {

using nb::arg;

nb::dict optimizer_config(const Optimizer& o) {
  const Optimizer::Settings& s = o.settings();
  nb::dict d;
  d["name"] = s.name;
  d["learning_rate"] = o.learning_rate();
  d["weight_decay"] = s.weight_decay;
  d["global_clipnorm"] = s.global_clipnorm;
  if (s.name == "SGD") {
    d["momentum"] = s.momentum;
    d["nesterov"] = s.nesterov;
  } else {
    d["beta_1"] = s.beta_1;
    d["beta_2"] = s.beta_2;
    d["epsilon"] = s.epsilon;
  }
  return d;
}

void bind_optimizers(nb::module_& m) {
  nb::class_<Optimizer>(m, "Optimizer", "SGD or Adam with Keras' rules; bound to a model at its first fit.")
      .def_prop_rw("learning_rate", &Optimizer::learning_rate, &Optimizer::set_learning_rate)
      .def_prop_ro("iterations", &Optimizer::iterations)
      .def_prop_ro("attached", [](const Optimizer& o) { return o.live() != nullptr; },
                   "Whether a model's fit has bound it to that model's parameters.")
      .def_prop_ro("name", [](const Optimizer& o) { return o.settings().name; })
      .def("get_config", &optimizer_config)
      .def("__repr__", [](const Optimizer& o) {
        return "timbre.optimizers." + o.settings().name + "(learning_rate=" + std::to_string(o.learning_rate()) + ")";
      });
  m.def("SGD",
        [](double learning_rate, double momentum, bool nesterov, double weight_decay, double global_clipnorm) {
          return Optimizer({"SGD", learning_rate, momentum, nesterov, 0.9, 0.999, 1e-7, weight_decay, global_clipnorm});
        },
        arg("learning_rate") = 0.01, arg("momentum") = 0.0, arg("nesterov") = false, arg("weight_decay") = 0.0,
        arg("global_clipnorm") = 0.0, "Keras' SGD (decoupled weight decay; global_clipnorm 0: no clipping).");
  m.def("Adam",
        [](double learning_rate, double beta_1, double beta_2, double epsilon, double weight_decay,
           double global_clipnorm) {
          return Optimizer({"Adam", learning_rate, 0, false, beta_1, beta_2, epsilon, weight_decay, global_clipnorm});
        },
        arg("learning_rate") = 0.001, arg("beta_1") = 0.9, arg("beta_2") = 0.999, arg("epsilon") = 1e-7,
        arg("weight_decay") = 0.0, arg("global_clipnorm") = 0.0, "Keras' Adam (weight_decay: decoupled, as AdamW).");
}

// timbre's callbacks (EarlyStopping, ...), opaque to Python.
struct NativeCallback {
  std::shared_ptr<train::Callback> callback;
};

// A Keras-style Python callback (timbre.callbacks.Callback: on_epoch_end(epoch, logs), ...) called from fit
// under the GIL; it stops training by setting its model's stop_training, as in Keras.
class PythonCallback : public train::Callback {
 public:
  PythonCallback(nb::object callback, nb::object model) : callback_(std::move(callback)), model_(std::move(model)) {}
  void on_train_begin(const train::History&, train::TrainingControl& c) override {
    nb::gil_scoped_acquire gil;
    call(c, "on_train_begin", nb::dict());
  }
  void on_epoch_begin(int64_t epoch, train::TrainingControl& c) override {
    first_step_ = c.optimizer.iterations();
    nb::gil_scoped_acquire gil;
    call(c, "on_epoch_begin", epoch - 1, nb::dict());
  }
  void on_epoch_end(const train::EpochRecord& r, train::TrainingControl& c) override {
    nb::gil_scoped_acquire gil;
    call(c, "on_epoch_end", r.epoch - 1, epoch_logs(r));
  }
  void on_train_batch_end(int64_t step, double loss, double accuracy, train::TrainingControl& c) override {
    nb::gil_scoped_acquire gil;
    nb::dict logs;
    logs["loss"] = loss;
    logs["accuracy"] = accuracy;
    call(c, "on_train_batch_end", step - first_step_ - 1, logs);
  }
  void on_train_end(train::TrainingControl& c) override {
    nb::gil_scoped_acquire gil;
    call(c, "on_train_end", nb::dict());
  }

 private:
  // Under the GIL (each hook takes it before making the arguments).
  template <class... Args>
  void call(train::TrainingControl& control, const char* hook, Args&&... args) {
    callback_.attr(hook)(std::forward<Args>(args)...);
    if (nb::cast<bool>(nb::getattr(model_, "stop_training", nb::bool_(false)))) control.stop = true;
  }
  nb::object callback_, model_;
  int64_t first_step_ = 0;
};

// Ctrl-C while fit runs without the GIL: Python's handler only sets a flag, so look at it after every batch
// and end training with KeyboardInterrupt.
class InterruptCheck : public train::Callback {
 public:
  void on_train_batch_end(int64_t, double, double, train::TrainingControl&) override {
    nb::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
  }
};

void bind_callbacks(nb::module_& m) {
  nb::class_<NativeCallback>(m, "NativeCallback", "One of timbre's callbacks (EarlyStopping, ReduceLROnPlateau, ...).");
  m.def("EarlyStopping",
        [](const std::string& monitor, double min_delta, int64_t patience, const std::string& mode,
           bool restore_best_weights) {
          return NativeCallback{train::early_stopping({monitor, min_delta, patience, mode, restore_best_weights})};
        },
        arg("monitor") = "val_loss", arg("min_delta") = 0.0, arg("patience") = 0, arg("mode") = "auto",
        arg("restore_best_weights") = false);
  m.def("ReduceLROnPlateau",
        [](const std::string& monitor, double factor, int64_t patience, const std::string& mode, double min_delta,
           int64_t cooldown, double min_lr) {
          return NativeCallback{train::reduce_lr_on_plateau({monitor, factor, patience, mode, min_delta, cooldown, min_lr})};
        },
        arg("monitor") = "val_loss", arg("factor") = 0.1, arg("patience") = 10, arg("mode") = "auto",
        arg("min_delta") = 1e-4, arg("cooldown") = 0, arg("min_lr") = 0.0);
  m.def("LearningRateScheduler",
        [](train::Schedule schedule) { return NativeCallback{train::learning_rate_scheduler(std::move(schedule))}; },
        arg("schedule"), "Before each epoch the rate becomes schedule(epoch, lr), epoch 0-based (a Python callable "
                         "or cosine_schedule / step_schedule).");
  m.def("cosine_schedule", &train::cosine_schedule, arg("base"), arg("epochs"), arg("warmup_epochs") = 0,
        arg("alpha") = 0.0, "A linear warm-up, then Keras' CosineDecay stepped per epoch.");
  m.def("step_schedule", &train::step_schedule, arg("base"), arg("every"), arg("factor"));
  m.def("TensorBoard",
        [](const std::string& log_dir, int64_t update_freq) {
          return NativeCallback{train::tensorboard_logger(log_dir, update_freq)};
        },
        arg("log_dir"), arg("update_freq") = 0,
        "Keras' epoch scalars as TensorBoard event files in log_dir/train and log_dir/validation.");
}

// Lines of fit's log into Python's sys.stdout (a notebook's cell output), each under the GIL.
class PythonStdout : public std::stringbuf {
 protected:
  int sync() override {
    nb::gil_scoped_acquire gil;
    nb::module_::import_("sys").attr("stdout").attr("write")(str());
    str("");
    return 0;
  }
};

train::Callbacks callbacks_of(const nb::list& callbacks, const nb::object& model) {
  train::Callbacks out;
  for (nb::handle c : callbacks) {
    if (nb::isinstance<NativeCallback>(c))
      out.push_back(nb::cast<NativeCallback&>(c).callback);
    else
      out.push_back(std::make_shared<PythonCallback>(nb::borrow(c), model));
  }
  out.push_back(std::make_shared<InterruptCheck>());
  return out;
}

// Trains `module` on `train` (validating on `validation` after every epoch); returns each epoch's logs.
nb::list fit(nb::object model, nn::Module& module, Optimizer& optimizer, const data::PatchDataset& train,
             const data::PatchDataset& validation, int64_t epochs, int64_t batch_size, uint64_t seed,
             const std::string& device, int verbose, std::optional<data::Augmentation> augmentation,
             const nb::list& callbacks) {
  PythonStdout log_buffer;
  std::ostream log(&log_buffer);
  train::FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.seed = seed;
  o.device = parse_device(device);
  o.progress = verbose > 0 ? train::ProgressStyle::lines : train::ProgressStyle::quiet;
  o.log = &log;
  o.augmentation = augmentation.value_or(data::Augmentation{});
  o.callbacks = callbacks_of(callbacks, model);
  optim::Optimizer& live = optimizer.attach(module);
  train::FitResult result;
  {
    nb::gil_scoped_release released;
    result = train::fit(module, live, train, validation, o);
  }
  log.flush();
  nb::list history;
  for (const train::EpochRecord& r : result.history) history.append(epoch_logs(r));
  return history;
}

nb::ndarray<nb::numpy> predict(nn::Module& module, nb::handle x, int64_t batch_size, const std::string& device) {
  if (!module.built()) throw nb::value_error("predict: build the model first");
  if (batch_size < 1) throw nb::value_error("predict: batch_size must be >= 1");
  const Tensor patches = wrap_batch(x, "x", module.input_shape());
  const Device d = parse_device(device);
  Tensor probabilities;
  {
    nb::gil_scoped_release released;
    probabilities = train::predict_probabilities(module, patches, batch_size, d);
  }
  return to_numpy(probabilities);
}

nb::dict evaluate(nn::Module& module, const data::PatchDataset& dataset, int64_t batch_size, const std::string& device) {
  const Device d = parse_device(device);
  train::Evaluation e;
  {
    nb::gil_scoped_release released;
    e = train::evaluate(module, dataset, batch_size, d);
  }
  nb::dict out;
  out["loss"] = e.loss;
  out["accuracy"] = e.accuracy;
  if (e.songs > 0) out["song_accuracy"] = e.song_accuracy;
  out["confusion"] = nb::cast(e.confusion);
  nb::dict per_class;
  for (const train::ClassScore& c : e.classes) {
    nb::dict row;
    row["precision"] = c.precision;
    row["recall"] = c.recall;
    row["support"] = c.support;
    per_class[c.name.c_str()] = row;
  }
  out["classes"] = per_class;
  return out;
}

}  // namespace

nb::dict epoch_logs(const train::EpochRecord& r) {
  nb::dict logs;
  logs["loss"] = r.loss;
  logs["accuracy"] = r.accuracy;
  logs["val_loss"] = r.val_loss;
  logs["val_accuracy"] = r.val_accuracy;
  logs["val_song_accuracy"] = r.val_song_accuracy;
  logs["learning_rate"] = r.learning_rate;
  return logs;
}

void bind_train(nb::module_& m) {
  bind_optimizers(m);
  bind_callbacks(m);
  m.def("fit", &fit, arg("model"), arg("module"), arg("optimizer"), arg("train"), arg("validation"), arg("epochs"),
        arg("batch_size"), arg("seed"), arg("device"), arg("verbose"), arg("augmentation").none(), arg("callbacks"));
  m.def("predict", &predict, arg("module"), arg("x"), arg("batch_size") = 128, arg("device") = "cpu",
        "Softmax probabilities (N, classes) in inference mode.");
  m.def("evaluate", &evaluate, arg("module"), arg("dataset"), arg("batch_size") = 128, arg("device") = "cpu");
  m.def("move", [](nn::Module& module, const std::string& device) { module.to(parse_device(device)); }, arg("module"),
        arg("device"));
}

}  // namespace timbre::python
