// Keras 3 weight files (`model.save_weights("x.weights.h5")`, HDF5) for timbre
// models built like the seed's: Sequential and Concatenate containers of Conv2D,
// Dense, BatchNormalization, LSTM, Bidirectional(LSTM) and weightless layers.
//
// Keras stores each layer's variables under a key made from its class name
// (snake case, numbered per class in layer order: conv2d, conv2d_1, ...), not
// from the layer's own name:
//     layers/conv2d/vars/0                         kernel; vars/1 bias
//     layers/batch_normalization/vars/0..3         gamma, beta, moving_mean, moving_variance
//     layers/lstm/cell/vars/0..2                   kernel, recurrent_kernel, bias
//     layers/bidirectional/forward_layer/cell/vars/0..2, .../backward_layer/cell/vars/0..2
// timbre maps its layers to those keys by layer order and type, and every
// variable by position and shape, so layer names never need to agree.
#pragma once

#include <filesystem>

#include "timbre/nn/module.h"

namespace timbre::io {

// Copies the file's weights into the built `model` (any dtype and device; the
// file's float32 values are converted). Every variable is checked first: a
// missing layer, a shape that differs, or a weighted layer the model lacks
// throws timbre::Error naming the first differing layer and both shapes, and
// leaves the model unchanged. So does a file that reaches outside itself, which
// Keras never writes: a soft or external link, a dataset whose values are in
// external raw-data files or a virtual dataset, a cycle of hard links.
void load_keras_weights(nn::Module& model, const std::filesystem::path& path);

// Writes the model's weights (as float32) in the layout Keras' model.load_weights
// reads for the same architecture. The file is written atomically.
void save_keras_weights(nn::Module& model, const std::filesystem::path& path);

}  // namespace timbre::io
