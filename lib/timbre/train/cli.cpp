#include "timbre/train/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "timbre/core/parallel.h"
#include "timbre/core/random.h"
#include "timbre/data/cache.h"
#include "timbre/data/gtzan.h"
#include "timbre/data/npy.h"
#include "timbre/data/split.h"
#include "timbre/data/synthetic.h"
#include "timbre/data/tfdata.h"
#include "timbre/dist/communicator.h"
#include "timbre/io/atomic_file.h"
#include "timbre/io/onnx.h"
#include "timbre/train/callbacks.h"
#include "timbre/train/checkpoint.h"
#include "timbre/train/fit.h"
#include "timbre/train/run_dir.h"
#include "timbre/train/stop_signal.h"
#include "timbre/train/tensorboard.h"

namespace timbre::train {

namespace {

// Epochs when --data synthetic and --epochs is not given: the README's quick
// start must finish in minutes on two cores (P2 trains at tens to hundreds of
// patches/s there, 3,840 patches per epoch), and on the default synthetic set
// the song-split validation accuracy levels off after the first epochs.
constexpr int64_t synthetic_default_epochs = 3;
constexpr int64_t seed_default_epochs = 50;

struct Settings {
  std::string data = "synthetic";
  std::string train_tfdata, val_tfdata, tfdata_compression = "auto";
  int64_t epochs = seed_default_epochs;
  int64_t batch_size = 128;
  double learning_rate = 0;
  uint64_t seed = 42;
  int threads = 0;
  std::string device = "auto";
  std::string out;
  bool resume = false;
  bool resume_anyway = false;  // resume although the run's fingerprint differs
  bool overwrite = false;
  std::vector<std::string> genres;
  std::vector<std::string> split = {"song"};
  double validation_fraction = 0.2;
  int64_t synthetic_songs = 0;
  std::string progress = "auto";
  std::string normalize = "band";
  int64_t patches_per_clip = 0;
  int64_t patch_hop = 0;
  double min_clip_seconds = data::FeatureOptions{}.min_clip_seconds;
  std::string short_clips = "pad";
  double mel_fmax = 0;
  double cache_limit_gb = 4;
  bool split_given = false;  // --split on the command line (else a list file's own split column wins)
  int folds = 0;
  // The training recipe: --recipe sets these, each flag given overrides it (recipe_defaults).
  std::string recipe = "timbre";
  data::Augmentation augmentation;
  double weight_decay = 0;
  double global_clipnorm = 0;  // 0: off
  std::string lr_schedule = "constant";
  int64_t warmup_epochs = 0;
  int64_t lr_step_every = 10;
  double lr_step_factor = 0.5;
  std::string monitor = "val_loss";
  int64_t early_stopping = 0;  // patience; 0: off
  bool restore_best_weights = false;
  int64_t reduce_lr_patience = 0;  // 0: off
  double reduce_lr_factor = 0.1;
  std::string tensorboard;     // a folder for TensorBoard event files; empty: none
  int64_t tensorboard_update_freq = 0;
  bool export_onnx = false;    // write <out>/model.onnx after training
  std::string export_patches;  // a folder: write the patches and their split there instead of training
};

// The timbre recipe's settings (docs/accuracy.md has the measurements that chose them); the seed recipe
// keeps Settings' own defaults: nothing added to the seed's optimizer and constant rate.
void recipe_defaults(Settings& s, const CLI::App& app) {
  if (s.recipe != "timbre") return;
  auto unset = [&](const char* flag) { return app.count(flag) == 0; };
  data::Augmentation& a = s.augmentation;
  // Cropping needs a song's patches side by side, which a patch-level split or overlapping patches break.
  const bool patch_split = s.split.size() == 1 && s.split.front() == "patch";
  if (unset("--random-crop")) a.random_crop = !patch_split && (s.patch_hop == 0 || s.patch_hop == 80);
  if (unset("--label-smoothing")) a.label_smoothing = 0.1;
  // ReduceLROnPlateau sets the rate itself: a schedule would undo its reductions every epoch.
  if (unset("--lr-schedule")) s.lr_schedule = s.reduce_lr_patience > 0 ? "constant" : "cosine";
  if (unset("--warmup-epochs")) s.warmup_epochs = s.epochs / 20;  // 2 of 50
  // Measured and left out (docs/accuracy.md): SpecAugment masks, mixup, gain and weight decay, each about
  // neutral alone on real clips, together cost P2 7 points of song accuracy in 50 epochs.
}

// The feature options of the flags.
data::FeatureOptions feature_options(const Settings& s) {
  data::FeatureOptions f;
  f.patch.patches_per_clip = s.patches_per_clip;
  f.patch.patch_hop = s.patch_hop;
  f.patch.short_clip = s.short_clips == "pad" ? data::PatchOptions::ShortClip::pad : data::PatchOptions::ShortClip::fail;
  f.min_clip_seconds = s.min_clip_seconds;
  f.mel.fmax = s.mel_fmax;
  return f;
}

// Every song's patches before the split, and a list file's own split (per song), if any.
struct LoadedData {
  data::PatchDataset all;
  std::vector<int> listed_sides;  // 0 training, 1 validation; empty: none given
  std::string source;
};

struct Datasets {
  data::PatchDataset train, validation;
  std::string source, split_note;
};

std::string join(const std::vector<std::string>& items, const std::string& sep = ",") {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

// What the folder or list loader skipped, and the flags that would keep such files.
void print_load_report(const data::GtzanReport& report, std::ostream& out) {
  out << "data: " << report.summary() << "\n";
  if (report.skipped_for(data::ClipProblem::too_short) > 0)
    out << "  (too short: --min-clip-seconds lowers the minimum length; --short-clips pad pads clips shorter than "
           "their patches; --patches-per-clip 0 takes as many patches as fit)\n";
}

data::GtzanReport load_audio_set(const Settings& s, LoadedData& d, std::ostream& out) {
  data::GtzanOptions options;
  options.genres = s.genres;
  options.features = feature_options(s);
  options.cache_max_bytes = static_cast<uintmax_t>(s.cache_limit_gb * double(uintmax_t{1} << 30));
  data::GtzanReport report;
  try {
    if (std::filesystem::is_directory(s.data)) {
      d.all = data::load_gtzan(s.data, options, &report);
      d.source = "GTZAN-style folder " + s.data;
    } else {
      data::TrackList list = data::load_track_list(s.data, options, &report);
      d.all = std::move(list.dataset);
      d.source = "list file " + s.data;
      if (list.has_splits)
        for (const std::string& split : list.song_splits) d.listed_sides.push_back(split == "validation" ? 1 : 0);
    }
  } catch (const Error&) {
    print_load_report(report, std::cerr);
    throw;
  }
  print_load_report(report, out);
  d.source += " (" + std::to_string(d.all.song_names.size()) + " songs)";
  return report;
}

LoadedData load_data(const Settings& s, std::ostream& out) {
  LoadedData d;
  if (s.data == "synthetic") {
    data::SyntheticOptions options;
    if (s.synthetic_songs > 0) options.songs_per_genre = s.synthetic_songs;
    if (!s.genres.empty()) options.genres = s.genres;
    d.all = data::make_synthetic_dataset(options, feature_options(s));
    d.source = "synthetic audio (" + std::to_string(d.all.song_names.size()) + " songs)";
    return d;
  }
  check(std::filesystem::exists(s.data), "--data", "\"", s.data,
        "\" is neither \"synthetic\" nor a GTZAN-style folder or list file (no such file or directory)");
  load_audio_set(s, d, out);
  return d;
}

// The split of `d` this run trains on: fold `fold` of --folds, a list file's own split, or --split.
Datasets split_data(const LoadedData& d, const Settings& s, int fold) {
  Datasets out;
  out.source = d.source;
  data::SplitOptions split;
  split.validation_fraction = s.validation_fraction;
  split.seed = s.seed;
  const std::string& mode = s.split.front();
  if (s.folds > 0) {
    split.kind = data::SplitOptions::k_fold;
    split.folds = s.folds;
    split.fold = fold;
    out.split_note = "song-level " + std::to_string(s.folds) + "-fold cross-validation, fold " +
                     std::to_string(fold + 1) + " for validation";
  } else if (!d.listed_sides.empty() && !s.split_given) {
    split.kind = data::SplitOptions::given;
    split.song_sides = d.listed_sides;
    out.split_note = "the split column of " + s.data;
  } else if (s.split.size() == 2) {
    split.kind = data::SplitOptions::files;
    split.train_list = s.split[0];
    split.validation_list = s.split[1];
    out.split_note = "songs listed in " + s.split[0] + " (training) and " + s.split[1] + " (validation)";
  } else if (mode == "song" || mode == "patch") {
    split.kind = mode == "song" ? data::SplitOptions::song : data::SplitOptions::patch;
    char note[96];
    std::snprintf(note, sizeof note, "%s-level split, %.0f%% of each genre's %s for validation", mode.c_str(),
                  100 * s.validation_fraction, mode == "song" ? "songs" : "patches");
    out.split_note = note;
  } else {
    split.kind = data::SplitOptions::files;
    split.validation_list = mode;
    out.split_note = "songs listed in " + mode + " for validation, the rest for training";
  }
  data::Split parts = data::split_dataset(d.all, split);
  out.train = std::move(parts.train);
  out.validation = std::move(parts.validation);
  return out;
}

Datasets load_tfdata(const Settings& s) {
  Datasets d;
  data::TfDataOptions options;
  options.compression = s.tfdata_compression;
  options.class_names = s.genres;
  d.train = data::load_tfdata(s.train_tfdata, options);
  d.validation = data::load_tfdata(s.val_tfdata, options);
  if (s.genres.empty()) d.validation.class_names = d.train.class_names;
  check(d.train.class_names == d.validation.class_names, "--val-tfdata", "the validation set has ",
        d.validation.num_classes(), " classes, the training set ", d.train.num_classes());
  d.source = "tf.data directories " + s.train_tfdata + " and " + s.val_tfdata;
  d.split_note = "the given tf.data train/validation directories";
  return d;
}

ProgressStyle parse_progress(const std::string& s) {
  if (s == "bar") return ProgressStyle::bar;
  if (s == "lines") return ProgressStyle::lines;
  if (s == "quiet") return ProgressStyle::quiet;
  return ProgressStyle::automatic;
}

// The flags of the training recipe, bound to `s`.
void add_recipe_flags(CLI::App& app, Settings& s) {
  data::Augmentation& a = s.augmentation;
  const std::string by_recipe = " (default: set by --recipe)";
  app.add_option("--recipe", s.recipe,
                 "timbre: random crops, label smoothing 0.1 and a cosine learning rate with 5% warm-up, chosen by "
                 "the measurements in docs/accuracy.md; seed: the seed's optimizer and constant rate, nothing "
                 "added. Each flag below overrides the recipe")
      ->check(CLI::IsMember({"timbre", "seed"}))
      ->capture_default_str();
  app.add_flag("--random-crop,!--no-random-crop", a.random_crop,
               "every epoch, each patch starts at a random frame of its song (joined with the song's next patch); "
               "needs a song-level split and --patch-hop 0" + by_recipe);
  app.add_option("--time-masks", a.time_masks, "SpecAugment time masks per patch" + by_recipe)
      ->check(CLI::Range(0, 100));
  app.add_option("--time-mask-frames", a.time_mask_frames, "longest time mask, in frames" + by_recipe)
      ->check(CLI::Range(0, 80));
  app.add_option("--freq-masks", a.freq_masks, "SpecAugment frequency masks per patch" + by_recipe)
      ->check(CLI::Range(0, 100));
  app.add_option("--freq-mask-bands", a.freq_mask_bands, "widest frequency mask, in mel bands" + by_recipe)
      ->check(CLI::Range(0, 80));
  app.add_option("--gain-db", a.gain_db, "a random gain in [-G, G] dB per patch" + by_recipe)->check(CLI::Range(0.0, 60.0));
  app.add_option("--mixup", a.mixup_alpha, "mixup's alpha: each patch mixed with another of its batch" + by_recipe)
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--label-smoothing", a.label_smoothing, "targets (1 - s) one-hot + s / classes" + by_recipe)
      ->check(CLI::Range(0.0, 0.99));
  app.add_option("--weight-decay", s.weight_decay,
                 "decoupled weight decay (Keras 3's weight_decay, AdamW): each step every weight shrinks by lr * W "
                 "of itself" + by_recipe)
      ->check(CLI::Range(0.0, 0.99));
  app.add_option("--global-clipnorm", s.global_clipnorm,
                 "Keras' global_clipnorm: scale the gradients to a global norm of at most this (0: off)")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--lr-schedule", s.lr_schedule,
                 "constant, cosine (from --lr towards 0 over the epochs after --warmup-epochs of linear warm-up) "
                 "or step (--lr times --lr-step-factor every --lr-step-every epochs)" + by_recipe)
      ->check(CLI::IsMember({"constant", "cosine", "step"}));
  app.add_option("--warmup-epochs", s.warmup_epochs, "epochs of linear warm-up of the cosine schedule" + by_recipe)
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}));
  app.add_option("--lr-step-every", s.lr_step_every, "epochs between the step schedule's steps")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--lr-step-factor", s.lr_step_factor, "the step schedule's factor")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--monitor", s.monitor, "what --early-stopping and --reduce-lr-on-plateau watch: val_loss, "
                                         "val_accuracy, val_song_accuracy, loss or accuracy")
      ->check(CLI::IsMember({"val_loss", "val_accuracy", "val_song_accuracy", "loss", "accuracy"}))
      ->capture_default_str();
  app.add_option("--early-stopping", s.early_stopping,
                 "Keras' EarlyStopping: stop when --monitor has not improved for this many epochs (0: off)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}))
      ->capture_default_str();
  app.add_flag("--restore-best-weights", s.restore_best_weights,
               "with --early-stopping: end with the weights of the best epoch by --monitor");
  app.add_option("--reduce-lr-on-plateau", s.reduce_lr_patience,
                 "Keras' ReduceLROnPlateau: multiply the rate by --reduce-lr-factor when --monitor has not improved "
                 "for this many epochs (0: off)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--reduce-lr-factor", s.reduce_lr_factor, "ReduceLROnPlateau's factor")
      ->check(CLI::Range(0.001, 0.999))
      ->capture_default_str();
}

// The callbacks of the recipe's schedule, early stopping and plateau settings.
Callbacks recipe_callbacks(const Settings& s) {
  Callbacks callbacks;
  if (s.lr_schedule == "cosine")
    callbacks.push_back(learning_rate_scheduler(cosine_schedule(s.learning_rate, s.epochs, s.warmup_epochs)));
  if (s.lr_schedule == "step")
    callbacks.push_back(learning_rate_scheduler(step_schedule(s.learning_rate, s.lr_step_every, s.lr_step_factor)));
  if (s.reduce_lr_patience > 0) {
    ReduceLROnPlateauOptions o;
    o.monitor = s.monitor;
    o.patience = s.reduce_lr_patience;
    o.factor = s.reduce_lr_factor;
    callbacks.push_back(reduce_lr_on_plateau(o));
  }
  if (s.early_stopping > 0) {
    EarlyStoppingOptions o;
    o.monitor = s.monitor;
    o.patience = s.early_stopping;
    o.restore_best_weights = s.restore_best_weights;
    callbacks.push_back(early_stopping(o));
  }
  return callbacks;
}

// The recipe in words, for the run's header.
std::string recipe_line(const Settings& s) {
  const data::Augmentation& a = s.augmentation;
  std::ostringstream out;
  out << "recipe " << s.recipe << ": ";
  std::vector<std::string> parts;
  if (a.random_crop) parts.push_back("random crops");
  if (a.time_masks > 0 && a.time_mask_frames > 0)
    parts.push_back(std::to_string(a.time_masks) + " time masks <= " + std::to_string(a.time_mask_frames) + " frames");
  if (a.freq_masks > 0 && a.freq_mask_bands > 0)
    parts.push_back(std::to_string(a.freq_masks) + " frequency masks <= " + std::to_string(a.freq_mask_bands) +
                    " bands");
  auto number = [](double v) {
    std::ostringstream o;
    o << v;
    return o.str();
  };
  if (a.gain_db > 0) parts.push_back("gain +-" + number(a.gain_db) + " dB");
  if (a.mixup_alpha > 0) parts.push_back("mixup " + number(a.mixup_alpha));
  if (a.label_smoothing > 0) parts.push_back("label smoothing " + number(a.label_smoothing));
  if (s.weight_decay > 0) parts.push_back("weight decay " + number(s.weight_decay));
  if (s.global_clipnorm > 0) parts.push_back("global_clipnorm " + number(s.global_clipnorm));
  if (s.lr_schedule != "constant")
    parts.push_back(s.lr_schedule + " schedule" +
                    (s.lr_schedule == "cosine" && s.warmup_epochs > 0 ? " (" + std::to_string(s.warmup_epochs) +
                                                                            " warm-up epochs)"
                                                                      : std::string()));
  if (s.reduce_lr_patience > 0) parts.push_back("ReduceLROnPlateau " + std::to_string(s.reduce_lr_patience));
  if (s.early_stopping > 0) parts.push_back("EarlyStopping " + std::to_string(s.early_stopping));
  out << (parts.empty() ? std::string("nothing added") : join(parts, ", "));
  return out.str();
}

// The trainer's flags, bound to `s`.
void add_flags(CLI::App& app, Settings& s, const models::SeedModel& spec) {
  app.get_formatter()->column_width(34);
  auto* data_opt = app.add_option("--data", s.data,
                                  "\"synthetic\" (generated genre-like audio, no download), a GTZAN-style folder "
                                  "(one folder per genre, sub-folders allowed, any format libsndfile reads: wav, au, "
                                  "aiff, flac, ogg, opus, mp3) or a CSV list file of path,genre[,split] rows (paths "
                                  "relative to the file; split train, validation or test)")
                       ->capture_default_str();
  auto* train_opt = app.add_option("--train-tfdata", s.train_tfdata,
                                   "a training set saved by tf.data.Dataset.save (the seed's directories); needs "
                                   "--val-tfdata")
                        ->check(CLI::ExistingDirectory);
  auto* val_opt = app.add_option("--val-tfdata", s.val_tfdata, "the matching validation set directory")
                      ->check(CLI::ExistingDirectory);
  train_opt->needs(val_opt);
  val_opt->needs(train_opt);
  train_opt->excludes(data_opt);
  app.add_option("--tfdata-compression", s.tfdata_compression, "compression of the tf.data snapshot files")
      ->check(CLI::IsMember({"auto", "none", "gzip", "snappy"}))
      ->capture_default_str();
  app.add_option("--epochs", s.epochs,
                 "passes over the training set; default 50 as in the seed, but " +
                     std::to_string(synthetic_default_epochs) +
                     " with --data synthetic so that the quick start finishes in minutes")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}));
  app.add_option("--batch-size", s.batch_size, "patches per training step")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--lr", s.learning_rate,
                 "learning rate of " + models::optimizer_name(spec.optimizer) +
                     (spec.optimizer == models::OptimizerKind::sgd ? " (momentum 0.9)" : ""))
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", s.seed, "seed of the initial weights, Dropout, shuffling and the train/validation split")
      ->capture_default_str();
  app.add_option("--threads", s.threads, "CPU threads (default: OMP_NUM_THREADS or every core)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--device", s.device, "cpu, cuda, cuda:N or auto (a usable GPU, else the CPU)")
      ->capture_default_str();
  app.add_option("--out", s.out, "output directory: history.csv/json, accuracy.png, loss.png, confusion_matrix.png, "
                                 "evaluation.json, per_class.csv, last.safetensors, best.safetensors (with --folds, "
                                 "one fold-K folder each and folds.json)")
      ->capture_default_str();
  auto* resume_opt = app.add_flag("--resume", s.resume, "continue from <out>/last.safetensors up to --epochs");
  auto* anyway_opt = app.add_flag("--resume-anyway", s.resume_anyway,
               "--resume although the data, split, seed, features, model or recipe differ from the run's (the "
               "differences are printed and recorded in its checkpoints)");
  app.add_flag("--overwrite", s.overwrite, "replace the run that --out holds (without it a new run refuses to start "
                                          "there)")
      ->excludes(resume_opt)
      ->excludes(anyway_opt);
  app.add_option("--genres", s.genres, "comma-separated genres to use (default: the data's own; the seed used 8)")
      ->delimiter(',');
  app.add_option("--split", s.split,
                 "how --data is split into training and validation: \"song\" (every patch of a song on one side: the "
                 "honest figure), \"patch\" (patches at random, as a patch-level split does), a file VAL listing "
                 "the validation songs (one name per line, e.g. blues/blues.00042.wav; the rest train), or two "
                 "files TRAIN,VAL. Default: a list file's split column when it has one, else song")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--validation-fraction", s.validation_fraction, "share of songs (or patches) held out")
      ->check(CLI::Range(0.01, 0.99))
      ->capture_default_str();
  app.add_option("--folds", s.folds,
                 "K-fold cross-validation by song: trains K models, fold k validating on the k-th K-th of each "
                 "genre's songs, and reports the mean and standard deviation of patch and song accuracy")
      ->check(CLI::Range(2, 100));
  app.add_option("--synthetic-songs", s.synthetic_songs, "songs per genre of the synthetic set (default " + std::to_string(data::SyntheticOptions{}.songs_per_genre) + ", 15 patches each)")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}));
  app.add_option("--patches-per-clip", s.patches_per_clip,
                 "patches cut from each clip, from its start; 0: as many as fit (a 30 s clip gives 16, a 3-minute "
                 "song 96); the seed used 15")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000}))
      ->capture_default_str();
  app.add_option("--patch-hop", s.patch_hop, "frames from one patch's start to the next; 0: 80, the patch width "
                                             "(no overlap); 40 gives twice the patches, half overlapping")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000}))
      ->capture_default_str();
  app.add_option("--min-clip-seconds", s.min_clip_seconds, "clips shorter than this are skipped")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--short-clips", s.short_clips,
                 "clips shorter than their patches (one patch is 80 frames, 1.86 s): pad (with the clip's floor, "
                 "its silence) or skip")
      ->check(CLI::IsMember({"pad", "skip"}))
      ->capture_default_str();
  app.add_option("--mel-fmax", s.mel_fmax,
                 "highest frequency of the mel bands, in Hz (librosa's fmax); 0: half the sample rate, 11025 Hz. "
                 "8000 gives clips sampled at 16 kHz the same bands as the others")
      ->check(CLI::Range(0.0, data::FeatureOptions{}.sample_rate / 2.0))
      ->capture_default_str();
  app.add_option("--cache-limit-gb", s.cache_limit_gb,
                 "size of the feature cache (<data>/.timbre-cache): after loading, the least recently used entries "
                 "beyond it are removed")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--normalize", s.normalize,
                 "band: put a Normalization layer first that scales each mel band by the training split's mean "
                 "and variance (saved in checkpoints, used by predict); global: one mean and variance; none: the "
                 "seed's models exactly, raw dB patches in (SGD then tends to diverge on P1.1 and P1.2)")
      ->check(CLI::IsMember({"band", "global", "none"}))
      ->capture_default_str();
  add_recipe_flags(app, s);
  app.add_option("--tensorboard", s.tensorboard,
                 "write TensorBoard logs to DIR/train and DIR/validation, as Keras' TensorBoard callback does "
                 "(epoch_loss, epoch_accuracy, the learning rate, song accuracy); `tensorboard --logdir DIR` shows them");
  app.add_option("--tensorboard-update-freq", s.tensorboard_update_freq,
                 "with --tensorboard, also write batch_loss and batch_accuracy every N steps (Keras' update_freq; "
                 "0: per epoch only)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000'000}))
      ->capture_default_str();
  app.add_flag("--export-onnx", s.export_onnx,
               "after training, write the final model to <out>/model.onnx (opset 17, for onnxruntime; docs/deploy.md)");
  app.add_option("--export-patches", s.export_patches,
                 "write the patches of --data and their split (song_fold) to DIR/patches.npz and DIR/names.json, "
                 "then stop without training (to train another framework on the same patches)");
  app.add_option("--progress", s.progress, "auto (a bar on a terminal, else a line per epoch), bar, lines or quiet")
      ->check(CLI::IsMember({"auto", "bar", "lines", "quiet"}))
      ->capture_default_str();
}

// Settings that the flags' own checks cannot see.
void check_settings(const Settings& s) {
  check(s.split.size() == 1 || s.split.size() == 2, "--split", "expected song, patch, VAL or TRAIN,VAL, got ",
        join(s.split));
  for (const std::string& f : s.split)
    check(f == "song" || f == "patch" || std::filesystem::is_regular_file(f), "--split", "expected song, patch or ",
          "song-list files, but \"", f, "\" is none of these (no such file)");
  for (size_t i = 0; i < s.genres.size(); ++i)
    check(std::find(s.genres.begin(), s.genres.begin() + static_cast<std::ptrdiff_t>(i), s.genres[i]) ==
              s.genres.begin() + static_cast<std::ptrdiff_t>(i),
          "--genres", "\"", s.genres[i], "\" is given twice");
  check(s.genres.empty() || s.genres.size() >= 2, "--genres", "need at least two genres to tell apart, got \"",
        join(s.genres), "\"");
  check(s.folds == 0 || s.train_tfdata.empty(), "--folds", "needs --data (the tf.data directories come split)");
  check(s.folds == 0 || !s.split_given, "--folds", "replaces --split; give one of them");
  check(s.export_patches.empty() || s.train_tfdata.empty(), "--export-patches",
        "needs --data (the tf.data directories are patches already)");
  check(!s.augmentation.random_crop || s.split.front() != "patch", "--random-crop",
        "needs a song-level split (a patch-level split takes a song's neighbouring patches to validation); give "
        "--no-random-crop or another --split");
  check(!s.augmentation.random_crop || s.patch_hop == 0 || s.patch_hop == 80, "--random-crop",
        "needs patches side by side (--patch-hop 0), got --patch-hop ", s.patch_hop, "; give --no-random-crop");
  check(s.lr_schedule != "cosine" || s.warmup_epochs < s.epochs, "--warmup-epochs", "must be fewer than --epochs (",
        s.epochs, "), got ", s.warmup_epochs);
  check(s.reduce_lr_patience == 0 || s.lr_schedule == "constant", "--reduce-lr-on-plateau",
        "cannot be combined with --lr-schedule ", s.lr_schedule, " (the schedule would undo its reductions every epoch)");
  check(!s.restore_best_weights || s.early_stopping > 0, "--restore-best-weights", "needs --early-stopping");
}

// The sorted names of the songs that `set`'s patches come from, and its patch count, as one hash (hex).
std::string song_list_hash(const data::PatchDataset& set) {
  std::set<std::string> names;
  for (const int32_t song : set.songs)
    if (song >= 0) names.insert(set.song_names[static_cast<size_t>(song)]);
  std::string text = std::to_string(set.size());
  for (const std::string& name : names) text += "\n" + name;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(data::hash_bytes(text.data(), text.size())));
  return hex;
}

// What makes a run the same run: a resume with another fingerprint would mix two runs (checkpoint.h).
std::string run_fingerprint(const models::SeedModel& spec, const Settings& s, const Datasets& d) {
  return nlohmann::json{{"model", spec.name},
                        {"data", d.source},
                        {"training_songs", song_list_hash(d.train)},
                        {"validation_songs", song_list_hash(d.validation)},
                        {"split", d.split_note},
                        {"seed", s.seed},
                        {"features", nlohmann::json::parse(features_to_json(feature_options(s)))},
                        {"normalize", s.normalize},
                        {"recipe", recipe_line(s)}}
      .dump();
}

// One model trained on one split; its validation after the last epoch.
Evaluation train_one(const models::SeedModel& spec, const Settings& s, const Datasets& d, Device device,
                     dist::Communicator& comm, const std::string& out_dir, std::ostream& out) {
  manual_seed(s.seed);
  out << spec.title << ": " << d.train.size() << " training and " << d.validation.size() << " validation patches from "
      << d.source << "; " << d.split_note << "\n"
      << "classes: " << join(d.train.class_names, ", ") << "\n"
      << "device " << device.str() << ", " << num_threads() << " threads, batch " << s.batch_size << ", " << s.epochs
      << " epochs, " << models::optimizer_name(spec.optimizer) << " lr " << s.learning_rate
      << (comm.world_size() > 1
              ? ", " + std::to_string(comm.world_size()) + " ranks (" + dist::backend_name(comm.backend()) + ")"
              : std::string())
      << "\n"
      << recipe_line(s) << "\n";

  // Normalization statistics come from the training split only.
  nn::Sequential model = models::make_trainer_model(spec, d.train.num_classes(), s.normalize, d.train.patches);
  model.summary(out);
  model.to(device);
  auto optimizer = models::make_optimizer(spec, model.trainable_parameters(), s.learning_rate);

  const data::FeatureOptions features = feature_options(s);
  nlohmann::json config = {{"model", spec.name},        {"data", s.train_tfdata.empty() ? s.data : s.train_tfdata},
                           {"val_tfdata", s.val_tfdata}, {"epochs", s.epochs},
                           {"batch_size", s.batch_size}, {"learning_rate", s.learning_rate},
                           {"seed", s.seed},             {"genres", d.train.class_names},
                           {"split", d.split_note},      {"synthetic_songs", s.synthetic_songs},
                           {"normalize", s.normalize},   {"features", nlohmann::json::parse(features_to_json(features))},
                           {"recipe", recipe_line(s)}};
  FitOptions options;
  options.epochs = s.epochs;
  options.batch_size = s.batch_size;
  options.seed = s.seed;
  options.device = device;
  options.out_dir = out_dir;
  // A cross-validation stopped in fold k has no checkpoints in the later folds yet: those start afresh.
  options.resume = s.resume && std::filesystem::exists(std::filesystem::path(out_dir) / "last.safetensors");
  options.resume_anyway = s.resume_anyway;
  options.fingerprint = run_fingerprint(spec, s, d);
  options.model_name = spec.name;
  options.model_title = spec.title;
  options.optimizer_name = models::optimizer_name(spec.optimizer);
  options.config_json = config.dump();
  options.split_note = d.split_note;
  options.normalize = s.normalize;
  options.features = features;
  options.progress = parse_progress(s.progress);
  options.augmentation = s.augmentation;
  options.callbacks = recipe_callbacks(s);
  if (!s.tensorboard.empty() && comm.is_root())  // with --folds, one run per fold: <dir>/fold-K
    options.callbacks.push_back(tensorboard_logger(
        s.folds > 0 ? std::filesystem::path(s.tensorboard) / std::filesystem::path(out_dir).filename()
                    : std::filesystem::path(s.tensorboard),
        s.tensorboard_update_freq));
  optimizer->set_weight_decay(s.weight_decay);
  optimizer->set_global_clipnorm(s.global_clipnorm);
  if (comm.world_size() > 1) options.communicator = &comm;
  install_stop_handlers();  // from now on Ctrl-C keeps what was trained (before, it ends the process as usual)
  const FitResult result = fit(model, *optimizer, d.train, d.validation, options);

  if (s.export_onnx && comm.is_root()) {
    io::save_onnx(model, std::filesystem::path(out_dir) / "model.onnx");
    out << "wrote " << (std::filesystem::path(out_dir) / "model.onnx").string() << "\n";
  }
  const Evaluation final_eval =
      result.validation.patches ? result.validation : evaluate(model, d.validation, s.batch_size, device);
  out << "\nvalidation (" << d.split_note << "), after epoch " << s.epochs << ":\n"
      << format_class_report(final_eval) << "best validation accuracy at epoch " << result.best_epoch
      << "; files in " << out_dir << "\n";
  return final_eval;
}

// --export-patches: the patches exactly as training would see them, for another framework (tools/accuracy):
// DIR/patches.npz holds patches (N, 80, 80, 1) float32 dB, labels and songs (int32 per patch) and song_fold
// (int32 per song: with --folds the fold that validates on it, else 1 for validation, 0 for training);
// DIR/names.json the class and song names and how they were split.
void export_patches(const LoadedData& d, const Settings& s, std::ostream& out) {
  const int rounds = std::max(s.folds, 1);
  std::vector<int32_t> song_fold(d.all.song_names.size(), -1);
  std::vector<std::string> notes;
  for (int k = 0; k < rounds; ++k) {
    const Datasets parts = split_data(d, s, k);
    notes.push_back(parts.split_note);
    for (const int32_t song : parts.validation.songs)
      if (song >= 0) song_fold[static_cast<size_t>(song)] = s.folds > 0 ? k : 1;
  }
  if (s.folds == 0)
    for (int32_t& f : song_fold) f = std::max(f, 0);
  const std::filesystem::path dir(s.export_patches);
  std::filesystem::create_directories(dir);
  const data::PatchDataset& all = d.all;
  data::write_npz((dir / "patches.npz").string(),
                  {{"patches", data::NpyArray::from_tensor(all.patches)},
                   {"labels", data::NpyArray::from_values<int32_t>({all.size()}, all.labels)},
                   {"songs", data::NpyArray::from_values<int32_t>({all.size()}, all.songs)},
                   {"song_fold", data::NpyArray::from_values<int32_t>({static_cast<int64_t>(song_fold.size())}, song_fold)}});
  io::write_file_atomically(dir / "names.json",
                            nlohmann::json{{"class_names", all.class_names},
                                           {"song_names", all.song_names},
                                           {"source", d.source},
                                           {"folds", s.folds},
                                           {"splits", notes},
                                           {"features", nlohmann::json::parse(features_to_json(feature_options(s)))}}
                                    .dump(1) +
                                "\n");
  out << "wrote " << all.size() << " patches of " << all.song_names.size() << " songs to " << dir.string()
      << "/patches.npz and names.json\n";
}

struct MeanStd {
  double mean = 0, std = 0;  // std: the sample standard deviation (0 for one value)
};
MeanStd mean_std(const std::vector<double>& v) {
  MeanStd m;
  for (double x : v) m.mean += x / static_cast<double>(v.size());
  for (double x : v) m.std += (x - m.mean) * (x - m.mean);
  m.std = v.size() > 1 ? std::sqrt(m.std / static_cast<double>(v.size() - 1)) : 0.0;
  return m;
}

// The folds' final validation accuracies: a table on `out`, and <out>/folds.json.
void report_folds(const std::vector<Evaluation>& folds, const std::string& out_dir, bool write, std::ostream& out) {
  std::vector<double> patch, song;
  nlohmann::json rows = nlohmann::json::array();
  out << "\ncross-validation by song, " << folds.size() << " folds (validation after the last epoch):\n";
  for (size_t k = 0; k < folds.size(); ++k) {
    patch.push_back(folds[k].accuracy);
    song.push_back(folds[k].song_accuracy);
    char line[128];
    std::snprintf(line, sizeof line, "  fold %zu  patch accuracy %.4f  song accuracy %.4f\n", k + 1, folds[k].accuracy,
                  folds[k].song_accuracy);
    out << line;
    rows.push_back({{"fold", k + 1}, {"patch_accuracy", folds[k].accuracy}, {"song_accuracy", folds[k].song_accuracy},
                    {"loss", folds[k].loss}, {"patches", folds[k].patches}, {"songs", folds[k].songs}});
  }
  const MeanStd p = mean_std(patch), q = mean_std(song);
  char line[160];
  std::snprintf(line, sizeof line, "  mean  patch accuracy %.4f +- %.4f  song accuracy %.4f +- %.4f\n", p.mean, p.std,
                q.mean, q.std);
  out << line;
  if (write)
    io::write_file_atomically(std::filesystem::path(out_dir) / "folds.json",
                              nlohmann::json{{"folds", rows},
                                             {"patch_accuracy", {{"mean", p.mean}, {"std", p.std}}},
                                             {"song_accuracy", {{"mean", q.mean}, {"std", q.std}}}}
                                      .dump(2) +
                                  "\n");
}

}  // namespace

int seed_trainer_main(const models::SeedModel& spec, int argc, char** argv) {
  Settings s;
  s.learning_rate = spec.learning_rate;
  s.out = "runs/" + spec.name;
  CLI::App app{"Trains the seed's " + spec.title + " (" + models::optimizer_name(spec.optimizer) +
                   ", categorical cross-entropy) on log-mel patches (80 x 80 x 1) and writes history, plots, an "
                   "evaluation and checkpoints to --out.",
               spec.name};
  add_flags(app, s, spec);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  s.split_given = app.count("--split") > 0;

  // Started by mpirun/srun: one rank of a data-parallel job (docs/distributed.md); else this process alone.
  std::unique_ptr<dist::Communicator> comm;
  try {
    if (app.count("--epochs") == 0 && s.train_tfdata.empty() && s.data == "synthetic")
      s.epochs = synthetic_default_epochs;
    recipe_defaults(s, app);
    check_settings(s);
    s.resume = s.resume || s.resume_anyway;
    if (s.threads > 0) set_num_threads(s.threads);
    Device device = parse_device(s.device);
    // One GPU per rank on each machine.
    if (device.is_cuda() && dist::launched_by_mpi())
      device = Device::cuda(dist::local_rank_hint() % cuda_device_count());
    comm = dist::init(dist::Backend::automatic, device);
    std::ostream quiet(nullptr);  // the other ranks print nothing
    std::ostream& out = comm->is_root() ? std::cout : quiet;
    // Claimed before any data is loaded, by the rank that writes.
    std::optional<RunDirectory> run;
    if (comm->is_root() && s.export_patches.empty()) {
      run.emplace(s.out, s.resume ? RunStart::resume : s.overwrite ? RunStart::overwrite : RunStart::fresh);
      for (const std::string& file : run->removed_temporaries())
        out << "removed " << file << ", left by a run that was killed while writing it\n";
      const std::filesystem::path first_run = std::filesystem::path(s.out) / (s.folds > 0 ? "fold-1" : "");
      check(!s.resume || std::filesystem::exists(first_run / "last.safetensors"), "--resume", "cannot resume: ",
            (first_run / "last.safetensors").string(), " does not exist");
    }

    if (!s.train_tfdata.empty()) {
      train_one(spec, s, load_tfdata(s), device, *comm, s.out, out);
    } else {
      const LoadedData data = load_data(s, out);
      if (!s.export_patches.empty()) {
        if (comm->is_root()) export_patches(data, s, out);
      } else if (s.folds == 0) {
        train_one(spec, s, split_data(data, s, 0), device, *comm, s.out, out);
      } else {
        std::vector<Evaluation> folds;
        for (int k = 0; k < s.folds; ++k) {
          out << "\n== fold " << k + 1 << " of " << s.folds << "\n";
          const std::string dir = (std::filesystem::path(s.out) / ("fold-" + std::to_string(k + 1))).string();
          folds.push_back(train_one(spec, s, split_data(data, s, k), device, *comm, dir, out));
        }
        report_folds(folds, s.out, comm->is_root(), out);
      }
    }
    comm.reset();
    dist::finalize();
    return 0;
  } catch (const Interrupted& stop) {  // every rank stopped after the same batch
    if (comm && comm->is_root()) std::cerr << spec.name << ": " << stop.what() << std::endl;
    comm.reset();
    dist::finalize();
    return stop.exit_status();
  } catch (const std::exception& e) {  // timbre::Error above all; also I/O and allocation failures
    const bool several = comm && comm->world_size() > 1;
    std::cerr << spec.name << (several ? " (rank " + std::to_string(comm->rank()) + ")" : std::string())
              << ": error: " << e.what() << std::endl;
    if (several) comm->abort(1);  // the other ranks may be waiting in a collective
    return 1;
  }
}

}  // namespace timbre::train
