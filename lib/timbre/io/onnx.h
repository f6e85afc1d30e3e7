// ONNX export of a built model's inference graph (opset 17), written with
// timbre's own protobuf writer: input "patches" (batch, H, W, C) float32 in
// Keras' channels-last layout, output "probabilities" (batch, classes), the
// softmax of the model's logits. Convolutions and pools run between Transposes
// to ONNX's NCHW; Flatten and Reshape keep Keras' channels-last order; LSTM
// gates are reordered from Keras' i,f,c,o to ONNX's i,o,f,c; Bidirectional is
// one LSTM with direction "bidirectional"; Dropout is left out (inference).
// The bytes depend only on the model: the same model gives the same file.
#pragma once

#include <filesystem>
#include <string>

#include "timbre/nn/module.h"

namespace timbre::io {

// The ONNX ModelProto's bytes; throws timbre::Error naming the first layer ONNX export does not support.
std::string encode_onnx(nn::Module& model);
// Writes encode_onnx(model) to `path` atomically.
void save_onnx(nn::Module& model, const std::filesystem::path& path);

}  // namespace timbre::io
