// The per-epoch record of a training run, written as history.csv and
// history.json (Keras' History.history keys: loss, accuracy, val_loss, val_accuracy).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace timbre::train {

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double loss = 0, accuracy = 0;          // training, averaged over the epoch's batches (weighted by rows)
  double val_loss = 0, val_accuracy = 0;  // validation, after the epoch
  double val_song_accuracy = 0;           // validation songs, from mean patch probabilities (0 when unknown)
  double learning_rate = 0;               // the optimizer's rate during the epoch
  double seconds = 0;                     // training time of the epoch (without validation)
  double samples_per_second = 0;          // training throughput
};

using History = std::vector<EpochRecord>;

std::string history_to_csv(const History& h);
std::string history_to_json(const History& h);
// Parses history_to_json's output; throws timbre::Error on anything else.
History history_from_json(const std::string& text);
// history.csv and history.json in `dir`, each written atomically. `resume_overrides` (a JSON array: each
// --resume-anyway and what differed) goes into history.json as "resume_overrides" when not empty.
void write_history(const std::filesystem::path& dir, const History& h, const std::string& resume_overrides = "[]");

}  // namespace timbre::train
