#include "timbre/train/fit.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <ostream>

#include "timbre/core/random.h"
#include "timbre/data/batcher.h"
#include "timbre/dist/data_parallel.h"
#include "timbre/dist/sampler.h"
#include "timbre/io/atomic_file.h"
#include "timbre/ops/loss.h"
#include "timbre/train/checkpoint.h"
#include "timbre/train/plot.h"
#include "timbre/train/progress.h"
#include "timbre/train/stop_signal.h"

namespace timbre::train {

namespace {

// The shuffling generator is separate from timbre's default one (initializers,
// Dropout) so that the data order does not depend on the model.
constexpr uint64_t shuffle_stream = 0x9e3779b97f4a7c15ull;

std::string epoch_line(const EpochRecord& r, int64_t epochs, bool has_songs) {
  char line[320];
  int n = std::snprintf(line, sizeof line,
                        "epoch %lld/%lld  loss %.4f  acc %.4f  val_loss %.4f  val_acc %.4f",
                        static_cast<long long>(r.epoch), static_cast<long long>(epochs), r.loss, r.accuracy,
                        r.val_loss, r.val_accuracy);
  if (has_songs) n += std::snprintf(line + n, sizeof line - n, "  val_song_acc %.4f", r.val_song_accuracy);
  std::snprintf(line + n, sizeof line - n, "  %.1f s  %.0f samples/s", r.seconds, r.samples_per_second);
  return line;
}

// What a stopped run kept, and how to continue it.
std::string stopped_note(int signal, int64_t epoch, int64_t batches_done, int64_t batches, const FitResult& result,
                         const std::filesystem::path* out_dir) {
  std::string note = std::string("stopped by ") + (signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : "a signal") +
                     " after batch " + std::to_string(batches_done) + " of " + std::to_string(batches) + " of epoch " +
                     std::to_string(epoch) + "; that partial epoch is dropped. ";
  if (!out_dir || result.history.empty())
    return note + "No epoch had completed, so no checkpoint was kept" +
           (out_dir ? "; start again with --overwrite." : ".");
  return note + "Kept " + (*out_dir / "last.safetensors").string() + " (epoch " + std::to_string(epoch - 1) +
         ")" + (result.best_epoch > 0 ? " and best.safetensors (epoch " + std::to_string(result.best_epoch) + ")" : "") +
         "; --resume continues from epoch " + std::to_string(epoch) + ".";
}

int64_t count_correct(const Tensor& logits, const std::vector<int32_t>& labels) {
  const std::vector<float> z = logits.to_vector<float>();
  const int64_t classes = logits.dim(1);
  int64_t correct = 0;
  for (size_t r = 0; r < labels.size(); ++r) {
    const float* row = z.data() + static_cast<int64_t>(r) * classes;
    correct += std::max_element(row, row + classes) - row == labels[r];
  }
  return correct;
}

struct EpochTotals {
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  int stop_signal = 0;      // set when a stop was asked for (stop_signal.h): the epoch is incomplete
  int64_t batches_done = 0;  // when stopped: the batches trained
};

// The training loss of a batch, and whether any rank was asked to stop, agreed by all ranks.
std::pair<double, int> agree(double loss, dist::Communicator* comm) {
  const int signal = stop_requested();
  if (!comm) return {loss, signal};
  // One collective for both, so that every rank stops after the same batch.
  const std::vector<double> v = comm->all_reduce({loss, signal ? 1.0 : 0.0}, dist::ReduceOp::average);
  return {v[0], v[1] > 0 ? (signal ? signal : SIGINT) : 0};
}

// Fails when `set` holds a NaN or infinite value, naming up to three of the patches and their songs: damaged
// input tells itself apart from a diverging loss before any step is taken.
void check_finite_inputs(const data::PatchDataset& set, const std::string& what) {
  const Tensor host = set.patches.to(Device::cpu());
  const float* values = host.data<float>();
  const int64_t per_patch = set.sample_shape().numel();
  std::vector<int64_t> bad;
  int64_t bad_count = 0;
  for (int64_t p = 0; p < set.size(); ++p)
    if (!std::all_of(values + p * per_patch, values + (p + 1) * per_patch, [](float v) { return std::isfinite(v); })) {
      if (bad.size() < 3) bad.push_back(p);
      ++bad_count;
    }
  if (bad.empty()) return;
  std::string named;
  for (int64_t p : bad) {
    const int32_t song = set.songs.empty() ? -1 : set.songs[static_cast<size_t>(p)];
    named += (named.empty() ? "" : ", ") + ("patch " + std::to_string(p)) +
             (song >= 0 ? " of \"" + set.song_names[static_cast<size_t>(song)] + "\"" : std::string());
  }
  fail("fit: the " + what + " holds NaN or infinite values in " + std::to_string(bad_count) + " patches (" + named +
       "): the input is damaged, not the training; check those files (a feature cache entry is re-extracted when "
       "its file changes, or delete the cache)");
}

// One pass over `loader`'s batches: forward, loss, backward, step. A non-finite loss stops the run with
// an error that names the batch and ends with `stop_note`; a requested stop ends the pass after a batch.
EpochTotals train_epoch(int64_t epoch, nn::Module& model, optim::Optimizer& optimizer, data::BatchLoader& loader,
                        EpochProgress& progress, dist::DataParallel* parallel, const FitOptions& options,
                        TrainingControl& control, const std::string& stop_note) {
  dist::Communicator* comm = options.communicator;
  EpochTotals t;
  int64_t done = 0;
  while (auto batch = loader.next()) {
    const Tensor x = batch->inputs.to(options.device);
    const Tensor targets = batch->targets.to(options.device);
    optimizer.zero_grad();
    const Tensor logits = model(x);
    const Tensor loss = ops::softmax_cross_entropy(logits, targets);
    // Data parallel: the global batch's mean loss on every rank, so a non-finite one stops all ranks alike.
    const auto [value, stop_signal] = agree(loss.item<double>(), comm);
    ++done;
    // The inputs were checked finite, so this is the training diverging.
    if (!std::isfinite(value))
      fail("fit: the training loss became " + std::string(std::isnan(value) ? "NaN" : "infinite") + " at epoch " +
           std::to_string(epoch) + ", batch " + std::to_string(done) + stop_note + ". Try a lower learning rate.");
    loss.backward();
    if (parallel) parallel->synchronize_gradients();
    optimizer.step();
    const int64_t rows = static_cast<int64_t>(batch->labels.size());
    const int64_t correct = count_correct(logits, batch->labels);
    t.loss_sum += value * static_cast<double>(rows);
    t.correct += correct;
    t.seen += rows;
    for (const auto& callback : options.callbacks)
      callback->on_train_batch_end(optimizer.iterations(), value,
                                   static_cast<double>(correct) / static_cast<double>(rows), control);
    progress.update(done, t.seen, t.loss_sum / static_cast<double>(t.seen),
                    static_cast<double>(t.correct) / static_cast<double>(t.seen));
    if (stop_signal) {
      t.stop_signal = stop_signal;
      t.batches_done = done;
      return t;
    }
  }
  if (comm) {  // the epoch's totals over all ranks
    const std::vector<double> totals =
        comm->all_reduce({t.loss_sum, static_cast<double>(t.correct), static_cast<double>(t.seen)}, dist::ReduceOp::sum);
    t.loss_sum = totals[0];
    t.correct = static_cast<int64_t>(totals[1]);
    t.seen = static_cast<int64_t>(totals[2]);
  }
  return t;
}

}  // namespace

FitResult fit(nn::Module& model, optim::Optimizer& optimizer, const data::PatchDataset& train,
              const data::PatchDataset& validation, const FitOptions& options) {
  train.validate("fit: training set");
  validation.validate("fit: validation set");
  check(train.size() > 0 && validation.size() > 0, "fit", "need patches to train and validate on, got ",
        train.size(), " training and ", validation.size(),
        " validation patches (too few songs for the split? use more songs or a larger validation fraction)");
  check(train.class_names == validation.class_names, "fit", "training and validation sets name different classes");
  check(model.built() && model.input_shape() == train.sample_shape(), "fit", "the model must be built for patches ",
        train.sample_shape().prepend(-1));
  check(model.output_shape() == Shape{train.num_classes()}, "fit", "the model gives ", model.output_shape().prepend(-1),
        " but the data has ", train.num_classes(), " classes");
  check(options.epochs >= 1 && options.batch_size >= 1, "fit", "epochs and batch size must be positive, got ",
        options.epochs, " and ", options.batch_size);
  check(!options.resume || !options.out_dir.empty(), "fit", "resuming needs the output directory");
  options.augmentation.validate();
  check_finite_inputs(train, "training set");
  check_finite_inputs(validation, "validation set");

  dist::Communicator* comm = options.communicator;
  const bool root = !comm || comm->is_root();  // only rank 0 prints and writes
  std::ostream& log = *options.log;
  const ProgressStyle style =
      !root ? ProgressStyle::quiet
      : options.progress != ProgressStyle::automatic ? options.progress
      : (options.log == &std::cout && ::isatty(STDOUT_FILENO)) ? ProgressStyle::bar
                                                                : ProgressStyle::lines;
  const bool writing = root && !options.out_dir.empty();
  const std::filesystem::path last_path = options.out_dir / "last.safetensors";
  const std::filesystem::path best_path = options.out_dir / "best.safetensors";

  Generator shuffle_rng(options.seed ^ shuffle_stream);
  FitResult result;
  double best_accuracy = -1;
  int64_t start_epoch = 0;
  std::string resume_overrides = "[]";
  if (options.resume) {
    check(std::filesystem::exists(last_path), "fit", "cannot resume: ", last_path.string(), " does not exist");
    const LoadedCheckpoint c = load_checkpoint(last_path);
    check(c.info.model == options.model_name, "fit", "cannot resume: ", last_path.string(), " holds model \"",
          c.info.model, "\", this run trains \"", options.model_name, "\"");
    check(c.info.class_names == train.class_names, "fit", "cannot resume: ", last_path.string(),
          " was trained on other classes");
    const ResumeCheck resumable = check_resumable(c.info, options.fingerprint, options.resume_anyway, last_path.string());
    resume_overrides = resumable.resume_overrides;
    if (!resumable.differences.empty() && style != ProgressStyle::quiet)
      log << "warning: --resume-anyway: this run differs from the one in " << last_path.string() << ": "
          << resumable.differences << std::endl;
    restore_model(model, c, last_path.string());
    restore_optimizer(optimizer, c, last_path.string());
    shuffle_rng.set_state(c.info.shuffle_rng);
    default_generator().set_state(c.info.default_rng);
    result.history = c.info.history;
    best_accuracy = c.info.best_val_accuracy;
    start_epoch = c.info.epoch;
    result.resumed_from = true;
    for (const EpochRecord& r : result.history)
      if (r.val_accuracy == best_accuracy && result.best_epoch == 0) result.best_epoch = r.epoch;
    if (style != ProgressStyle::quiet)
      log << "resuming from " << last_path.string() << " after epoch " << start_epoch << std::endl;
  }

  // Data parallel: every rank takes rank 0's model and optimizer state, then its shard of every global batch.
  std::optional<dist::ShardSampler> sampler;
  std::optional<dist::DataParallel> parallel;
  if (comm) {
    sampler.emplace(train.size(), options.batch_size, *comm, options.seed);
    parallel.emplace(model, optimizer, *comm);
  }

  auto checkpoint_info = [&](int64_t epoch) {
    CheckpointInfo info;
    info.model = options.model_name;
    info.class_names = train.class_names;
    info.epoch = epoch;
    info.history = result.history;
    info.best_val_accuracy = best_accuracy;
    info.optimizer = options.optimizer_name;
    info.shuffle_rng = shuffle_rng.state();
    info.default_rng = default_generator().state();
    info.config = options.config_json;
    info.normalize = options.normalize;
    info.features = options.features;
    info.fingerprint = options.fingerprint;
    info.resume_overrides = resume_overrides;
    return info;
  };

  std::ostream quiet(nullptr);
  TrainingControl control{model, optimizer, style == ProgressStyle::quiet ? quiet : log};
  for (const auto& callback : options.callbacks) callback->on_train_begin(result.history, control);
  auto write_evaluation_files = [&](const std::string& note) {
    write_evaluation(options.out_dir, result.validation, options.split_note);
    plot_confusion_matrix(options.out_dir / "confusion_matrix.png",
                          options.model_title + ": validation confusion matrix (" + note + ")",
                          result.validation.confusion, validation.class_names);
  };

  const bool augmenting = options.augmentation.any();
  for (int64_t epoch = start_epoch + 1; epoch <= options.epochs && !control.stop; ++epoch) {
    for (const auto& callback : options.callbacks) callback->on_epoch_begin(epoch, control);
    model.set_training(true);
    std::vector<int64_t> order = data::shuffled_indices(train.size(), shuffle_rng);
    if (sampler) order = sampler->shard(order);
    // Drawn only when augmenting, so that a run without augmentation shuffles as it always did.
    const uint64_t augment_seed =
        augmenting ? shuffle_rng.next_u64() ^ static_cast<uint64_t>(comm ? comm->rank() : 0) : 0;
    data::BatchLoader loader(train, std::move(order), sampler ? sampler->local_batch() : options.batch_size,
                             augmenting ? &options.augmentation : nullptr, augment_seed);
    EpochProgress progress(log, style == ProgressStyle::bar, epoch, options.epochs, loader.batch_count());
    EpochRecord record;
    record.epoch = epoch;
    record.learning_rate = optimizer.learning_rate();
    const std::string stop_note =
        "; training stopped" +
        (writing && epoch > 1
             ? ". The last good checkpoint is " + last_path.string() + " (epoch " + std::to_string(epoch - 1) + ")"
             : "");
    EpochTotals totals;
    try {
      totals = train_epoch(epoch, model, optimizer, loader, progress, parallel ? &*parallel : nullptr, options,
                           control, stop_note);
    } catch (const Error&) {
      if (style == ProgressStyle::bar) log << std::endl;
      throw;
    }
    if (totals.stop_signal) {
      if (style == ProgressStyle::bar) log << std::endl;
      throw Interrupted(totals.stop_signal, stopped_note(totals.stop_signal, epoch, totals.batches_done,
                                                         loader.batch_count(), result, writing ? &options.out_dir : nullptr));
    }
    record.seconds = progress.elapsed_seconds();
    record.samples_per_second = record.seconds > 0 ? static_cast<double>(totals.seen) / record.seconds : 0;
    record.loss = totals.loss_sum / static_cast<double>(totals.seen);
    record.accuracy = static_cast<double>(totals.correct) / static_cast<double>(totals.seen);

    result.validation = evaluate(model, validation, options.batch_size, options.device);
    record.val_loss = result.validation.loss;
    record.val_accuracy = result.validation.accuracy;
    record.val_song_accuracy = result.validation.song_accuracy;
    check(std::isfinite(record.val_loss), "fit", "the validation loss became non-finite at epoch ", epoch,
          "; training stopped", writing && epoch > 1 ? "; the last good checkpoint is " + last_path.string() : "");
    result.history.push_back(record);
    const bool improved = record.val_accuracy > best_accuracy;
    if (improved) {
      best_accuracy = record.val_accuracy;
      result.best_epoch = epoch;
    }
    if (style != ProgressStyle::quiet)
      progress.finish(epoch_line(record, options.epochs, result.validation.songs > 0) + (improved ? "  (best)" : ""));

    if (writing) {
      const CheckpointInfo info = checkpoint_info(epoch);
      // Best before last: after a kill at any moment the run has a last checkpoint, and a best one once an
      // epoch improved (a resume re-trains an epoch whose last was not written, and rewrites its best).
      if (improved) {
        save_checkpoint(best_path, model, &optimizer, info);
        io::link_file_atomically(best_path, last_path);
      } else {
        save_checkpoint(last_path, model, &optimizer, info);
      }
      write_history(options.out_dir, result.history, resume_overrides);
      plot_history(options.out_dir, result.history, options.model_title);
      write_evaluation_files("epoch " + std::to_string(epoch));
    }
    for (const auto& callback : options.callbacks) callback->on_epoch_end(record, control);
  }
  for (const auto& callback : options.callbacks) callback->on_train_end(control);
  if (control.weights_changed) {  // e.g. EarlyStopping's restore_best_weights: the evaluation of what is returned
    result.validation = evaluate(model, validation, options.batch_size, options.device);
    if (writing) write_evaluation_files("restored weights");
  }
  if (start_epoch >= options.epochs && style != ProgressStyle::quiet)
    log << "nothing to do: the checkpoint has already trained " << start_epoch << " of " << options.epochs
        << " epochs" << std::endl;
  return result;
}

}  // namespace timbre::train
