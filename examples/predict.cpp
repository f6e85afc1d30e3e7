// Genre of audio files from a trained checkpoint:
//   predict runs/cnn_bilstm/best.safetensors song.wav [more.flac ...] [--top 3] [--json]
// The checkpoint names its model, genres, input normalization and how its
// training audio was cut into patches; each file, of any length, is cut the
// same way (a 3-minute song into patches over the whole song), and its genre
// probabilities are the mean over its patches. Every file is scored; the ones
// that cannot be used are listed at the end and make the exit status 1.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "timbre/core/parallel.h"
#include "timbre/models/seed_models.h"
#include "timbre/train/checkpoint.h"
#include "timbre/train/predict.h"

using namespace timbre;

namespace {

std::vector<size_t> ranked(const std::vector<double>& p) {
  std::vector<size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  return order;
}

void print_line(const std::string& file, const train::FilePrediction& prediction,
                const std::vector<std::string>& genres, int top) {
  const std::vector<size_t> order = ranked(prediction.probabilities);
  std::cout << file << " (" << prediction.patches << " patches):";
  for (size_t k = 0; k < std::min(order.size(), static_cast<size_t>(top)); ++k) {
    char item[96];
    std::snprintf(item, sizeof item, "  %s %.1f%%", genres[order[k]].c_str(), 100 * prediction.probabilities[order[k]]);
    std::cout << item;
  }
  std::cout << "\n";
}

nlohmann::json to_json(const std::string& file, const train::FilePrediction& prediction,
                       const std::vector<std::string>& genres, int top) {
  const std::vector<size_t> order = ranked(prediction.probabilities);
  nlohmann::json probabilities = nlohmann::json::object(), votes = nlohmann::json::object(),
                 top_genres = nlohmann::json::array(), patch_genres = nlohmann::json::array();
  for (size_t c = 0; c < genres.size(); ++c) {
    probabilities[genres[c]] = prediction.probabilities[c];
    votes[genres[c]] = std::count(prediction.patch_votes.begin(), prediction.patch_votes.end(), static_cast<int32_t>(c));
  }
  for (size_t k = 0; k < std::min(order.size(), static_cast<size_t>(top)); ++k) top_genres.push_back(genres[order[k]]);
  for (int32_t v : prediction.patch_votes) patch_genres.push_back(genres[static_cast<size_t>(v)]);
  return {{"file", file},          {"patches", prediction.patches}, {"genre", genres[order.front()]},
          {"top", top_genres},     {"probabilities", probabilities}, {"votes", votes},
          {"patch_genres", patch_genres}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string checkpoint_path, device_spec = "auto";
  std::vector<std::string> files;
  int top = 3, threads = 0;
  bool json = false;
  CLI::App app{"Predicts the genre of audio files with a checkpoint written by parallel_cnn, cnn_lstm or cnn_bilstm.",
               "predict"};
  app.add_option("checkpoint", checkpoint_path, "a .safetensors checkpoint (best.safetensors or last.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("audio", files, "audio files of any length (.wav, .au, .aiff, .flac, .ogg, .mp3, ...)")->required();
  app.add_option("--top", top, "how many genres to print per file")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_flag("--json", json,
               "print one JSON document: per file its genre, top genres, mean probabilities, and each patch's vote");
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
    if (!json)
      std::cout << checkpoint.info.model << " after epoch " << checkpoint.info.epoch << " (" << checkpoint_path
                << "; patches " << train::features_to_json(checkpoint.info.features) << ")\n";

    nlohmann::json results = nlohmann::json::array(), failures = nlohmann::json::array();
    for (const std::string& file : files) {
      try {
        const train::FilePrediction prediction =
            train::predict_file(model, file, checkpoint.info.features, 128, device);
        if (json)
          results.push_back(to_json(file, prediction, genres, top));
        else
          print_line(file, prediction, genres, top);
      } catch (const Error& e) {  // an unusable file: the others are still scored
        failures.push_back({{"file", file}, {"error", e.what()}});
      }
    }
    if (json)
      std::cout << nlohmann::json{{"checkpoint", checkpoint_path}, {"model", checkpoint.info.model},
                                  {"results", results}, {"failed", failures}}
                       .dump(2)
                << "\n";
    for (const nlohmann::json& f : failures)
      std::cerr << "predict: cannot use " << f["error"].get<std::string>() << "\n";
    if (!failures.empty())
      std::cerr << "predict: " << failures.size() << " of " << files.size() << " files could not be scored\n";
    return failures.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "predict: error: " << e.what() << std::endl;
    return 1;
  }
}
