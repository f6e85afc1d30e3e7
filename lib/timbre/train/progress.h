// Per-epoch progress: on a terminal a bar redrawn in place (batches, running
// loss and accuracy, samples/s, ETA); elsewhere (a log file, a pipe) only the
// line that closes each epoch.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace timbre::train {

class EpochProgress {
 public:
  EpochProgress(std::ostream& out, bool interactive, int64_t epoch, int64_t epochs, int64_t batches);
  // After `done` batches holding `samples` rows in all; redraws at most ten times a second.
  void update(int64_t done, int64_t samples, double mean_loss, double mean_accuracy);
  // Replaces the bar with the epoch's closing line.
  void finish(const std::string& line);
  double elapsed_seconds() const;

 private:
  std::ostream& out_;
  bool interactive_;
  int64_t epoch_, epochs_, batches_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace timbre::train
