#include "timbre/train/tensorboard.h"

#include <unistd.h>

#include <bit>
#include <chrono>
#include <optional>

#include "timbre/core/error.h"
#include "timbre/data/protowire.h"
#include "timbre/data/tfrecord.h"

namespace timbre::train {

namespace {

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 && name[0] ? name : "localhost";
}

// An Event (tensorflow/core/util/event.proto): wall_time = 1 (double), step = 2, file_version = 3, summary = 5.
std::string event(int64_t step, uint32_t field, std::string_view payload) {
  data::proto::Writer e;
  e.fixed64(1, std::bit_cast<uint64_t>(wall_time()));
  if (step != 0) e.varint(2, static_cast<uint64_t>(step));
  e.bytes(field, payload);
  return e.str();
}

class TensorBoardLogger : public Callback {
 public:
  TensorBoardLogger(std::filesystem::path log_dir, int64_t update_freq)
      : log_dir_(std::move(log_dir)), update_freq_(update_freq) {}

  void on_train_begin(const History&, TrainingControl&) override {
    train_.emplace(log_dir_ / "train");
    validation_.emplace(log_dir_ / "validation");
  }

  void on_epoch_end(const EpochRecord& r, TrainingControl&) override {
    train_->scalar("epoch_loss", r.epoch, r.loss);
    train_->scalar("epoch_accuracy", r.epoch, r.accuracy);
    train_->scalar("epoch_learning_rate", r.epoch, r.learning_rate);
    train_->scalar("epoch_samples_per_second", r.epoch, r.samples_per_second);
    validation_->scalar("epoch_loss", r.epoch, r.val_loss);
    validation_->scalar("epoch_accuracy", r.epoch, r.val_accuracy);
    validation_->scalar("epoch_song_accuracy", r.epoch, r.val_song_accuracy);
    train_->flush();
    validation_->flush();
  }

  void on_train_batch_end(int64_t step, double loss, double accuracy, TrainingControl&) override {
    if (update_freq_ <= 0 || step % update_freq_ != 0) return;
    train_->scalar("batch_loss", step, loss);
    train_->scalar("batch_accuracy", step, accuracy);
  }

 private:
  std::filesystem::path log_dir_;
  int64_t update_freq_;
  std::optional<EventFileWriter> train_, validation_;
};

}  // namespace

EventFileWriter::EventFileWriter(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  check(!ec, "--tensorboard", "cannot create directory \"", dir.string(), "\": ", ec.message());
  path_ = dir / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(wall_time())) + "." + host_name() + "." +
                 std::to_string(::getpid()));
  out_.open(path_, std::ios::binary | std::ios::app);
  check(out_.good(), "--tensorboard", "cannot create \"", path_.string(), "\"");
  write_event(event(0, 3, "brain.Event:2"));
  flush();
}

void EventFileWriter::write_event(const std::string& e) {
  std::string record;
  data::append_record(record, e);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
}

void EventFileWriter::scalar(const std::string& tag, int64_t step, double value) {
  // Summary { repeated Value value = 1 }, Value { string tag = 1; float simple_value = 2 }.
  data::proto::Writer v;
  v.bytes(1, tag);
  v.fixed32(2, std::bit_cast<uint32_t>(static_cast<float>(value)));
  data::proto::Writer summary;
  summary.bytes(1, v.str());
  write_event(event(step, 5, summary.str()));
}

void EventFileWriter::flush() {
  out_.flush();
  check(out_.good(), "--tensorboard", "write to \"", path_.string(), "\" failed");
}

std::shared_ptr<Callback> tensorboard_logger(const std::filesystem::path& log_dir, int64_t update_freq) {
  check(update_freq >= 0, "--tensorboard-update-freq", "must be 0 (epochs only) or a number of steps, got ", update_freq);
  return std::make_shared<TensorBoardLogger>(log_dir, update_freq);
}

}  // namespace timbre::train
