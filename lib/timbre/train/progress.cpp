#include "timbre/train/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace timbre::train {

EpochProgress::EpochProgress(std::ostream& out, bool interactive, int64_t epoch, int64_t epochs, int64_t batches)
    : out_(out), interactive_(interactive), epoch_(epoch), epochs_(epochs), batches_(batches),
      start_(std::chrono::steady_clock::now()), last_draw_(start_ - std::chrono::seconds(1)) {}

double EpochProgress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void EpochProgress::update(int64_t done, int64_t samples, double mean_loss, double mean_accuracy) {
  if (!interactive_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = elapsed_seconds();
  const int width = 24;
  const int filled = batches_ ? static_cast<int>(width * done / batches_) : width;
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
  char line[256];
  std::snprintf(line, sizeof line, "\r\033[Kepoch %lld/%lld [%s] %lld/%lld  loss %.4f  acc %.4f  %.0f samples/s  ETA %s",
                static_cast<long long>(epoch_), static_cast<long long>(epochs_), bar.c_str(),
                static_cast<long long>(done), static_cast<long long>(batches_), mean_loss, mean_accuracy,
                elapsed > 0 ? static_cast<double>(samples) / elapsed : 0.0,
                done ? format_duration(elapsed / static_cast<double>(done) * static_cast<double>(batches_ - done)).c_str()
                     : "?");
  out_ << line << std::flush;
}

void EpochProgress::finish(const std::string& line) {
  if (interactive_) out_ << "\r\033[K";
  out_ << line << std::endl;
}

std::string format_duration(double seconds) {
  const long long s = static_cast<long long>(std::llround(std::max(seconds, 0.0)));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

}  // namespace timbre::train
