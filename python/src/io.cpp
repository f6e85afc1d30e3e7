// Files in and out: timbre checkpoints (what the trainers write and read),
// plain safetensors, Keras 3 .weights.h5 and ONNX.
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <filesystem>
#include <optional>

#include "bindings.h"
#include "optimizer.h"
#include "timbre/core/random.h"
#include "timbre/io/keras_weights.h"
#include "timbre/io/onnx.h"
#include "timbre/io/safetensors.h"
#include "timbre/train/checkpoint.h"

namespace timbre::python {

namespace {

using nb::arg;

train::EpochRecord record_of(nb::handle logs) {
  const nb::dict d = nb::cast<nb::dict>(logs);
  auto value = [&](const char* key) { return d.contains(key) ? nb::cast<double>(d[key]) : 0.0; };
  train::EpochRecord r;
  r.loss = value("loss");
  r.accuracy = value("accuracy");
  r.val_loss = value("val_loss");
  r.val_accuracy = value("val_accuracy");
  r.val_song_accuracy = value("val_song_accuracy");
  r.learning_rate = value("learning_rate");
  return r;
}

// A checkpoint of `module` (and `optimizer`'s state once it has trained), readable by the trainers' predict
// and timbre::Classifier when `model_name` is a seed model's.
void save_checkpoint(const std::filesystem::path& path, nn::Module& module, Optimizer* optimizer, const std::string& model_name,
                     const std::vector<std::string>& class_names, const nb::list& history,
                     const std::string& normalize, const data::FeatureOptions& features, const std::string& config) {
  train::CheckpointInfo info;
  info.model = model_name;
  info.class_names = class_names;
  for (nb::handle logs : history) {
    info.history.push_back(record_of(logs));
    info.history.back().epoch = static_cast<int64_t>(info.history.size());
    info.best_val_accuracy = std::max(info.best_val_accuracy, info.history.back().val_accuracy);
  }
  info.epoch = static_cast<int64_t>(info.history.size());
  optim::Optimizer* live = optimizer ? optimizer->live() : nullptr;
  info.optimizer = optimizer ? optimizer->settings().name : "";
  info.default_rng = default_generator().state();
  info.config = config;
  info.normalize = normalize;
  info.features = features;
  nb::gil_scoped_release released;
  train::save_checkpoint(path, module, live, info);
}

void bind_checkpoints(nb::module_& m) {
  nb::class_<train::LoadedCheckpoint>(m, "Checkpoint", "A timbre checkpoint read and verified (checksums).")
      .def_prop_ro("model", [](const train::LoadedCheckpoint& c) { return c.info.model; })
      .def_prop_ro("class_names", [](const train::LoadedCheckpoint& c) { return c.info.class_names; })
      .def_prop_ro("epoch", [](const train::LoadedCheckpoint& c) { return c.info.epoch; })
      .def_prop_ro("optimizer", [](const train::LoadedCheckpoint& c) { return c.info.optimizer; })
      .def_prop_ro("has_optimizer_state", [](const train::LoadedCheckpoint& c) {
        for (const auto& [name, t] : c.file.tensors)
          if (name.rfind("optimizer/", 0) == 0) return true;
        return false;
      })
      .def_prop_ro("config", [](const train::LoadedCheckpoint& c) { return c.info.config; })
      .def_prop_ro("normalize", [](const train::LoadedCheckpoint& c) { return c.info.normalize; })
      .def_prop_ro("features", [](const train::LoadedCheckpoint& c) { return c.info.features; })
      .def_prop_ro("history", [](const train::LoadedCheckpoint& c) {
        nb::list out;
        for (const train::EpochRecord& r : c.info.history) out.append(epoch_logs(r));
        return out;
      })
      .def("restore_model",
           [](const train::LoadedCheckpoint& c, nn::Module& module, const std::string& source) {
             train::restore_model(module, c, source);
           },
           arg("module"), arg("source"), "Copies the weights into `module` (every variable, by name and shape).")
      .def("restore_optimizer",
           [](const train::LoadedCheckpoint& c, Optimizer& optimizer, nn::Module& module, const std::string& source) {
             train::restore_optimizer(optimizer.attach(module), c, source);
           },
           arg("optimizer"), arg("module"), arg("source"));
  m.def("load_checkpoint",
        [](const std::filesystem::path& path) {
          nb::gil_scoped_release released;
          return train::load_checkpoint(path);
        },
        arg("path"));
  m.def("save_checkpoint", &save_checkpoint, arg("path"), arg("module"), arg("optimizer").none(), arg("model_name"),
        arg("class_names"), arg("history"), arg("normalize"), arg("features"), arg("config"));
}

std::pair<nb::dict, nb::dict> load_safetensors(const std::filesystem::path& path) {
  io::SafetensorsFile file;
  {
    nb::gil_scoped_release released;
    file = io::load_safetensors(path);
  }
  nb::dict tensors, metadata;
  for (const auto& [name, t] : file.tensors) tensors[name.c_str()] = to_numpy(t);
  for (const auto& [key, value] : file.metadata) metadata[key.c_str()] = value;
  return {tensors, metadata};
}

void save_safetensors(const std::filesystem::path& path, const nb::dict& tensors, const std::optional<nb::dict>& metadata) {
  io::TensorMap map;
  for (auto [name, array] : tensors) {
    const std::string key = nb::cast<std::string>(name);
    map.emplace(key, wrap_array(array, "tensors['" + key + "']", true));
  }
  io::Metadata meta;
  if (metadata)
    for (auto [key, value] : *metadata) meta.emplace(nb::cast<std::string>(key), nb::cast<std::string>(value));
  nb::gil_scoped_release released;
  io::save_safetensors(path, map, meta);
}

}  // namespace

void bind_io(nb::module_& m) {
  bind_checkpoints(m);
  m.def("load_safetensors", &load_safetensors, arg("path"),
        "(tensors, metadata) of a safetensors file: NumPy arrays by name, and the metadata strings.");
  m.def("save_safetensors", &save_safetensors, arg("path"), arg("tensors"), arg("metadata") = nb::none(),
        "Writes float32/float64 arrays (and string metadata) atomically.");
  m.def("load_keras_weights",
        [](nn::Module& module, const std::filesystem::path& path) {
          nb::gil_scoped_release released;
          io::load_keras_weights(module, path);
        },
        arg("module"), arg("path"));
  m.def("save_keras_weights",
        [](nn::Module& module, const std::filesystem::path& path) {
          nb::gil_scoped_release released;
          io::save_keras_weights(module, path);
        },
        arg("module"), arg("path"));
  m.def("save_onnx",
        [](nn::Module& module, const std::filesystem::path& path) {
          nb::gil_scoped_release released;
          io::save_onnx(module, path);
        },
        arg("module"), arg("path"));
}

}  // namespace timbre::python
