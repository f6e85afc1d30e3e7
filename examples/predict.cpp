// Genre of audio files from a trained checkpoint:
//   predict runs/cnn_bilstm/best.safetensors song.wav [more.wav ...] [--top 3]
// The checkpoint names its model, genres and input normalization; each file
// is cut into log-mel patches (data::patches_from_file, the trainers' default
// features), and its genre probabilities are the mean over its patches.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>

#include "timbre/core/parallel.h"
#include "timbre/models/seed_models.h"
#include "timbre/train/checkpoint.h"
#include "timbre/train/predict.h"

using namespace timbre;

int main(int argc, char** argv) {
  std::string checkpoint_path, device_spec = "auto";
  std::vector<std::string> files;
  int top = 3, threads = 0;
  CLI::App app{"Predicts the genre of audio files with a checkpoint written by parallel_cnn, cnn_lstm or cnn_bilstm.",
               "predict"};
  app.add_option("checkpoint", checkpoint_path, "a .safetensors checkpoint (best.safetensors or last.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("audio", files, "audio files (.wav, .au, .flac, ...)")->required()->check(CLI::ExistingFile);
  app.add_option("--top", top, "how many genres to print per file")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (default: OMP_NUM_THREADS or every core)")->check(CLI::Range(1, 4096));
  app.add_option("--device", device_spec, "cpu, cuda, cuda:N or auto")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    if (threads > 0) set_num_threads(threads);
    const Device device = parse_device(device_spec);
    const train::LoadedCheckpoint checkpoint = train::load_checkpoint(checkpoint_path);
    const std::vector<std::string>& genres = checkpoint.info.class_names;
    nn::Sequential model = models::make_trainer_model(models::seed_model(checkpoint.info.model),
                                                      static_cast<int64_t>(genres.size()), checkpoint.info.normalize);
    train::restore_model(model, checkpoint, checkpoint_path);
    model.to(device);
    std::cout << checkpoint.info.model << " after epoch " << checkpoint.info.epoch << " (" << checkpoint_path << ")\n";

    for (const std::string& file : files) {
      const train::FilePrediction prediction = train::predict_file(model, file, {}, 128, device);
      const std::vector<double>& mean = prediction.probabilities;
      std::vector<size_t> order(mean.size());
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mean[a] > mean[b]; });
      std::cout << file << " (" << prediction.patches << " patches):";
      for (size_t k = 0; k < std::min(order.size(), static_cast<size_t>(top)); ++k) {
        char item[96];
        std::snprintf(item, sizeof item, "  %s %.1f%%", genres[order[k]].c_str(), 100 * mean[order[k]]);
        std::cout << item;
      }
      std::cout << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "predict: error: " << e.what() << std::endl;
    return 1;
  }
}
