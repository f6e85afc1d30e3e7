// TensorBoard logs, as Keras' TensorBoard callback writes them: <log_dir>/train
// and <log_dir>/validation each get an event file (events.out.tfevents.<time>.
// <host>.<pid>: TFRecord framing with masked CRC-32C, a first Event with
// file_version "brain.Event:2", then Summary events of simple_value scalars),
// with the tags epoch_loss and epoch_accuracy in both, epoch_learning_rate and
// epoch_samples_per_second in train, epoch_song_accuracy in validation; the step
// is the epoch (1-based, as in history.csv). With update_freq N > 0 (Keras'
// update_freq), every N-th optimizer step also adds batch_loss and
// batch_accuracy to train, the step being the run's step. A resumed run adds a
// new file.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "timbre/train/callbacks.h"

namespace timbre::train {

// One event file, appended record by record and flushed after each epoch's events.
class EventFileWriter {
 public:
  // Creates `dir` when missing and the file in it; throws timbre::Error naming it when that fails.
  explicit EventFileWriter(const std::filesystem::path& dir);
  void scalar(const std::string& tag, int64_t step, double value);
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_event(const std::string& event);
  std::filesystem::path path_;
  std::ofstream out_;
};

// The callback: the event files are created when training begins.
std::shared_ptr<Callback> tensorboard_logger(const std::filesystem::path& log_dir, int64_t update_freq = 0);

}  // namespace timbre::train
