// A trained checkpoint as an ONNX model (timbre::io::save_onnx), for onnxruntime and other runtimes:
//   export_onnx runs/cnn_bilstm/best.safetensors p2.onnx [--check-samples 16]
// With --check-samples N it also writes N random patches (p2.inputs.npy) and timbre's probabilities for
// them (p2.outputs.npy), which tools/onnx/check_onnx.py compares with onnxruntime's.
#include <CLI/CLI.hpp>
#include <iostream>

#include "timbre/core/random.h"
#include "timbre/data/npy.h"
#include "timbre/io/onnx.h"
#include "timbre/models/seed_models.h"
#include "timbre/train/checkpoint.h"
#include "timbre/train/metrics.h"

using namespace timbre;

int main(int argc, char** argv) {
  std::string checkpoint_path, out;
  int64_t samples = 0;
  CLI::App app{"Exports a trainer's checkpoint as an ONNX model (opset 17; input patches (batch, 80, 80, 1), output "
               "probabilities (batch, genres)).",
               "export_onnx"};
  app.add_option("checkpoint", checkpoint_path, "a trainer's checkpoint")->required()->check(CLI::ExistingFile);
  app.add_option("onnx", out, "the .onnx file to write")->required();
  app.add_option("--check-samples", samples, "also write N random patches and timbre's outputs for them as .npy")
      ->check(CLI::Range(int64_t{0}, int64_t{4096}));
  CLI11_PARSE(app, argc, argv);
  try {
    const train::LoadedCheckpoint checkpoint = train::load_checkpoint(checkpoint_path);
    nn::Sequential model = models::make_trainer_model(models::seed_model(checkpoint.info.model),
                                                      static_cast<int64_t>(checkpoint.info.class_names.size()),
                                                      checkpoint.info.normalize);
    train::restore_model(model, checkpoint, checkpoint_path);
    io::save_onnx(model, out);
    std::cout << "wrote " << out << " (" << checkpoint.info.model << ", genres: "
              << checkpoint.info.class_names.size() << ")\n";
    if (samples > 0) {
      // Log-mel dB-like values: around -40 dB with a spread of 20.
      Generator g(7);
      std::vector<float> values(static_cast<size_t>(samples * models::patch_shape.numel()));
      for (float& v : values) v = static_cast<float>(g.normal(-40.0, 20.0));
      Shape shape = models::patch_shape.prepend(samples);
      const Tensor inputs = Tensor::from<float>(shape, values);
      const Tensor outputs = train::predict_probabilities(model, inputs, 128, Device::cpu());
      const std::string stem = out.substr(0, out.size() - (out.ends_with(".onnx") ? 5 : 0));
      data::write_npy(stem + ".inputs.npy", data::NpyArray::from_tensor(inputs));
      data::write_npy(stem + ".outputs.npy", data::NpyArray::from_tensor(outputs));
      std::cout << "wrote " << stem << ".inputs.npy and " << stem << ".outputs.npy (" << samples << " patches)\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "export_onnx: error: " << e.what() << std::endl;
    return 1;
  }
}
