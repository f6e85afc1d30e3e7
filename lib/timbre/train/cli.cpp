#include "timbre/train/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "timbre/core/parallel.h"
#include "timbre/core/random.h"
#include "timbre/data/gtzan.h"
#include "timbre/data/split.h"
#include "timbre/data/synthetic.h"
#include "timbre/data/tfdata.h"
#include "timbre/dist/communicator.h"
#include "timbre/train/fit.h"

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
  std::vector<std::string> genres;
  std::vector<std::string> split = {"song"};
  double validation_fraction = 0.2;
  int64_t synthetic_songs = 0;
  std::string progress = "auto";
  std::string normalize = "band";
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

Datasets load_datasets(const Settings& s) {
  Datasets d;
  if (!s.train_tfdata.empty()) {
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
  data::PatchDataset all;
  if (s.data == "synthetic") {
    data::SyntheticOptions options;
    if (s.synthetic_songs > 0) options.songs_per_genre = s.synthetic_songs;
    if (!s.genres.empty()) options.genres = s.genres;
    all = data::make_synthetic_dataset(options);
    d.source = "synthetic audio (" + std::to_string(all.song_names.size()) + " songs)";
  } else {
    check(std::filesystem::is_directory(s.data), "--data", "\"", s.data,
          "\" is neither \"synthetic\" nor a GTZAN folder (no such directory)");
    data::GtzanOptions options;
    if (!s.genres.empty()) options.genres = s.genres;
    all = data::load_gtzan(s.data, options);
    d.source = "GTZAN folder " + s.data + " (" + std::to_string(all.song_names.size()) + " songs)";
  }
  data::SplitOptions split;
  const std::string& mode = s.split.front();
  if (s.split.size() == 2) {
    split.kind = data::SplitOptions::files;
    split.train_list = s.split[0];
    split.validation_list = s.split[1];
    d.split_note = "songs listed in " + s.split[0] + " (training) and " + s.split[1] + " (validation)";
  } else if (mode == "song" || mode == "patch") {
    split.kind = mode == "song" ? data::SplitOptions::song : data::SplitOptions::patch;
    char note[96];
    std::snprintf(note, sizeof note, "%s-level split, %.0f%% of each genre's %s for validation", mode.c_str(),
                  100 * s.validation_fraction, mode == "song" ? "songs" : "patches");
    d.split_note = note;
  } else {
    split.kind = data::SplitOptions::files;
    split.validation_list = mode;
    d.split_note = "songs listed in " + mode + " for validation, the rest for training";
  }
  split.validation_fraction = s.validation_fraction;
  split.seed = s.seed;
  data::Split parts = data::split_dataset(all, split);
  d.train = std::move(parts.train);
  d.validation = std::move(parts.validation);
  return d;
}

ProgressStyle parse_progress(const std::string& s) {
  if (s == "bar") return ProgressStyle::bar;
  if (s == "lines") return ProgressStyle::lines;
  if (s == "quiet") return ProgressStyle::quiet;
  return ProgressStyle::automatic;
}

}  // namespace

int seed_trainer_main(const models::SeedModel& spec, int argc, char** argv) {
  Settings s;
  s.learning_rate = spec.learning_rate;
  s.out = "runs/" + spec.name;
  CLI::App app{"Trains the seed's " + spec.title + " (" + models::optimizer_name(spec.optimizer) +
               ", categorical cross-entropy) on log-mel patches (80 x 80 x 1) and writes history, plots, an evaluation "
               "and checkpoints to --out.",
               spec.name};
  app.get_formatter()->column_width(34);
  auto* data_opt = app.add_option("--data", s.data,
                                  "\"synthetic\" (generated genre-like audio, no download) or a GTZAN folder "
                                  "(genre subfolders of .wav/.au clips)")
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
  auto* epochs_opt = app.add_option("--epochs", s.epochs,
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
                                 "evaluation.json, per_class.csv, last.safetensors, best.safetensors")
      ->capture_default_str();
  app.add_flag("--resume", s.resume, "continue from <out>/last.safetensors up to --epochs");
  app.add_option("--genres", s.genres, "comma-separated genres to use (default: the data's own; the seed used 8)")
      ->delimiter(',');
  app.add_option("--split", s.split,
                 "how --data is split into training and validation: \"song\" (every patch of a song on one side: the "
                 "honest figure), \"patch\" (patches at random, as a patch-level split does), a file VAL listing "
                 "the validation songs (one name per line, e.g. blues/blues.00042.wav; the rest train), or two "
                 "files TRAIN,VAL")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--validation-fraction", s.validation_fraction, "share of songs (or patches) held out")
      ->check(CLI::Range(0.01, 0.99))
      ->capture_default_str();
  app.add_option("--synthetic-songs", s.synthetic_songs, "songs per genre of the synthetic set (default " + std::to_string(data::SyntheticOptions{}.songs_per_genre) + ", 15 patches each)")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}));
  app.add_option("--normalize", s.normalize,
                 "band: put a Normalization layer first that scales each mel band by the training split's mean "
                 "and variance (saved in checkpoints, used by predict); global: one mean and variance; none: the "
                 "seed's models exactly, raw dB patches in (SGD then tends to diverge on P1.1 and P1.2)")
      ->check(CLI::IsMember({"band", "global", "none"}))
      ->capture_default_str();
  app.add_option("--progress", s.progress, "auto (a bar on a terminal, else a line per epoch), bar, lines or quiet")
      ->check(CLI::IsMember({"auto", "bar", "lines", "quiet"}))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  // Started by mpirun/srun: one rank of a data-parallel job (docs/distributed.md); else this process alone.
  std::unique_ptr<dist::Communicator> comm;
  try {
    check(s.split.size() == 1 || s.split.size() == 2, "--split", "expected song, patch, VAL or TRAIN,VAL, got ",
          join(s.split));
    for (const std::string& f : s.split)
      check(f == "song" || f == "patch" || std::filesystem::is_regular_file(f), "--split", "expected song, patch or ",
            "song-list files, but \"", f, "\" is none of these (no such file)");
    if (epochs_opt->count() == 0 && s.train_tfdata.empty() && s.data == "synthetic")
      s.epochs = synthetic_default_epochs;
    check(!s.resume || std::filesystem::exists(std::filesystem::path(s.out) / "last.safetensors"), "--resume",
          "cannot resume: ", (std::filesystem::path(s.out) / "last.safetensors").string(), " does not exist");
    if (s.threads > 0) set_num_threads(s.threads);
    Device device = parse_device(s.device);
    // One GPU per rank on each machine.
    if (device.is_cuda() && dist::launched_by_mpi())
      device = Device::cuda(dist::local_rank_hint() % cuda_device_count());
    comm = dist::init(dist::Backend::automatic, device);
    const bool root = comm->is_root();
    std::ostream quiet(nullptr);  // the other ranks print nothing
    std::ostream& out = root ? std::cout : quiet;
    manual_seed(s.seed);

    Datasets d = load_datasets(s);
    out << spec.title << ": " << d.train.size() << " training and " << d.validation.size()
        << " validation patches from " << d.source << "; " << d.split_note << "\n"
        << "classes: " << join(d.train.class_names, ", ") << "\n"
        << "device " << device.str() << ", " << num_threads() << " threads, batch " << s.batch_size << ", "
        << s.epochs << " epochs, " << models::optimizer_name(spec.optimizer) << " lr " << s.learning_rate
        << (comm->world_size() > 1
                ? ", " + std::to_string(comm->world_size()) + " ranks (" + dist::backend_name(comm->backend()) + ")"
                : std::string())
        << "\n";

    // Normalization statistics come from the training split only.
    nn::Sequential model = models::make_trainer_model(spec, d.train.num_classes(), s.normalize, d.train.patches);
    model.summary(out);
    model.to(device);
    auto optimizer = models::make_optimizer(spec, model.trainable_parameters(), s.learning_rate);

    nlohmann::json config = {{"model", spec.name},        {"data", s.train_tfdata.empty() ? s.data : s.train_tfdata},
                             {"val_tfdata", s.val_tfdata}, {"epochs", s.epochs},
                             {"batch_size", s.batch_size}, {"learning_rate", s.learning_rate},
                             {"seed", s.seed},             {"genres", d.train.class_names},
                             {"split", d.split_note},      {"synthetic_songs", s.synthetic_songs},
                             {"normalize", s.normalize}};
    FitOptions options;
    options.epochs = s.epochs;
    options.batch_size = s.batch_size;
    options.seed = s.seed;
    options.device = device;
    options.out_dir = s.out;
    options.resume = s.resume;
    options.model_name = spec.name;
    options.model_title = spec.title;
    options.optimizer_name = models::optimizer_name(spec.optimizer);
    options.config_json = config.dump();
    options.split_note = d.split_note;
    options.normalize = s.normalize;
    options.progress = parse_progress(s.progress);
    if (comm->world_size() > 1) options.communicator = comm.get();
    const FitResult result = fit(model, *optimizer, d.train, d.validation, options);

    const Evaluation final_eval =
        result.validation.patches ? result.validation : evaluate(model, d.validation, s.batch_size, device);
    out << "\nvalidation (" << d.split_note << "), after epoch " << s.epochs << ":\n"
        << format_class_report(final_eval) << "best validation accuracy at epoch " << result.best_epoch
        << "; files in " << s.out << "\n";
    comm.reset();
    dist::finalize();
    return 0;
  } catch (const std::exception& e) {  // timbre::Error above all; also I/O and allocation failures
    const bool several = comm && comm->world_size() > 1;
    std::cerr << spec.name << (several ? " (rank " + std::to_string(comm->rank()) + ")" : std::string())
              << ": error: " << e.what() << std::endl;
    if (several) comm->abort(1);  // the other ranks may be waiting in a collective
    return 1;
  }
}

}  // namespace timbre::train
