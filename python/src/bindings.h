// What the binding files share: each adds its part of timbre._timbre, and the
// conversions between NumPy arrays and timbre tensors live in arrays.cpp.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <string>
#include <vector>

#include "timbre/core/tensor.h"
#include "timbre/train/history.h"

namespace timbre::python {

namespace nb = nanobind;

void bind_core(nb::module_& m);   // Tensor, devices, threads, seeding (core.cpp)
void bind_nn(nb::module_& m);     // layers, containers, seed models (nn.cpp)
void bind_data(nb::module_& m);   // data sets, loaders, log-mel (data.cpp)
void bind_train(nb::module_& m);  // optimizers, callbacks, fit, predict (train.cpp)
void bind_io(nb::module_& m);     // checkpoints, safetensors, Keras .weights.h5, ONNX (io.cpp)

// A CPU array of float32 (or, with `allow_f64`, float64), C-contiguous, as a tensor over the same memory
// (read-only arrays too: timbre never writes into its inputs). Anything else raises TypeError or ValueError
// naming `what` and what was expected.
Tensor wrap_array(nb::handle array, const std::string& what, bool allow_f64 = false);
// wrap_array for a batch of samples of shape `sample`: (N, *sample), or (N, *sample[:-1]) when the sample's
// last axis is 1 (patches given without their channel axis).
Tensor wrap_batch(nb::handle array, const std::string& what, const Shape& sample);
// One integer per row (class indices, song ids) from a 1-D array of any integer dtype; TypeError or
// ValueError naming `what` otherwise.
std::vector<int32_t> int_values(nb::handle array, const std::string& what, int64_t rows);
// The tensor's values as a NumPy array: the same memory for a CPU tensor (the array keeps it alive), a
// host copy for a CUDA one.
nb::ndarray<nb::numpy> to_numpy(const Tensor& t);
// An epoch's record as Keras' logs: loss, accuracy, val_loss, val_accuracy, val_song_accuracy, learning_rate.
nb::dict epoch_logs(const train::EpochRecord& record);

// Option structs take keyword arguments naming their fields: FeatureOptions(patches_per_clip=15).
template <class Options>
void init_from_kwargs(Options* self, const nb::kwargs& kwargs) {
  // Set on a finished instance (the one being made takes no attributes before __init__ returns), then copied.
  nb::object made = nb::cast(Options());
  for (auto [key, value] : kwargs) {
    if (!nb::hasattr(made.type(), key))
      throw nb::type_error((std::string(nb::type_name(made.type()).c_str()) + ": unknown option '" +
                            nb::cast<std::string>(key) + "'")
                               .c_str());
    nb::setattr(made, key, value);
  }
  new (self) Options(nb::cast<const Options&>(made));
}

// A tuple of the shape's extents, and the reverse (a sequence of ints).
nb::tuple shape_tuple(const Shape& s);
Shape shape_of(nb::handle sequence, const std::string& what);

}  // namespace timbre::python
