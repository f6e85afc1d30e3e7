// timbre.data: labelled patch sets (NumPy in and out), the data sources (synthetic
// audio, GTZAN folders, list files, tf.data directories) and log-mel extraction.
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "bindings.h"
#include "timbre/data/audio.h"
#include "timbre/data/augment.h"
#include "timbre/data/features.h"
#include "timbre/data/gtzan.h"
#include "timbre/data/split.h"
#include "timbre/data/synthetic.h"
#include "timbre/data/tfdata.h"

namespace timbre::python {

namespace {

using data::PatchDataset;
using nb::arg;
using Names = std::optional<std::vector<std::string>>;

[[noreturn]] void bad_choice(const std::string& what, const std::string& choices, const std::string& got) {
  throw nb::value_error((what + ": expected " + choices + ", got '" + got + "'").c_str());
}

// A string property over an enum field, with its names in order of the enum's values.
template <class Options, class Enum>
auto enum_property(Enum Options::*field, std::vector<std::string> names, std::string what) {
  auto get = [=](const Options& o) { return names[static_cast<size_t>(o.*field)]; };
  auto set = [=](Options& o, const std::string& v) {
    const auto it = std::find(names.begin(), names.end(), v);
    if (it == names.end()) bad_choice(what, "one of " + nb::cast<std::string>(nb::str(nb::cast(names))), v);
    o.*field = static_cast<Enum>(it - names.begin());
  };
  return std::make_pair(get, set);
}

void bind_options(nb::module_& m) {
  using data::MelOptions;
  const auto padding = enum_property(&MelOptions::padding, {"constant", "reflect"}, "padding");
  const auto norm = enum_property(&MelOptions::norm, {"none", "slaney"}, "norm");
  const auto reference = enum_property(&MelOptions::reference, {"one", "max"}, "reference");
  nb::class_<MelOptions>(m, "MelOptions", "librosa's melspectrogram + power_to_db settings (librosa's defaults).")
      .def("__init__", &init_from_kwargs<MelOptions>)
      .def_rw("n_fft", &MelOptions::n_fft)
      .def_rw("hop_length", &MelOptions::hop_length)
      .def_rw("center", &MelOptions::center)
      .def_prop_rw("padding", padding.first, padding.second)
      .def_rw("power", &MelOptions::power)
      .def_rw("n_mels", &MelOptions::n_mels)
      .def_rw("fmin", &MelOptions::fmin)
      .def_rw("fmax", &MelOptions::fmax, "<= 0: sample_rate / 2")
      .def_rw("htk", &MelOptions::htk)
      .def_prop_rw("norm", norm.first, norm.second)
      .def_rw("to_db", &MelOptions::to_db)
      .def_rw("amin", &MelOptions::amin)
      .def_rw("top_db", &MelOptions::top_db, "<= 0: no clipping")
      .def_prop_rw("reference", reference.first, reference.second)
      .def_rw("measure_fft", &MelOptions::measure_fft);

  using data::FeatureOptions;
  using data::PatchOptions;
  nb::class_<FeatureOptions>(m, "FeatureOptions", "How audio becomes patches: sample rate, log-mel, patch cutting.")
      .def("__init__", &init_from_kwargs<FeatureOptions>)
      .def_static("seed", &FeatureOptions::seed, "The seed's features: 15 patches per clip from its start.")
      .def_rw("sample_rate", &FeatureOptions::sample_rate)
      .def_rw("mel", &FeatureOptions::mel)
      .def_rw("min_clip_seconds", &FeatureOptions::min_clip_seconds)
      .def_prop_rw("patches_per_clip", [](const FeatureOptions& f) { return f.patch.patches_per_clip; },
                   [](FeatureOptions& f, int64_t n) { f.patch.patches_per_clip = n; }, "<= 0: as many as fit")
      .def_prop_rw("frames_per_patch", [](const FeatureOptions& f) { return f.patch.frames_per_patch; },
                   [](FeatureOptions& f, int64_t n) { f.patch.frames_per_patch = n; })
      .def_prop_rw("patch_hop", [](const FeatureOptions& f) { return f.patch.patch_hop; },
                   [](FeatureOptions& f, int64_t n) { f.patch.patch_hop = n; }, "<= 0: frames_per_patch")
      .def_prop_rw("first_frame", [](const FeatureOptions& f) { return f.patch.first_frame; },
                   [](FeatureOptions& f, int64_t n) { f.patch.first_frame = n; })
      .def_prop_rw("short_clips",
                   [](const FeatureOptions& f) { return f.patch.short_clip == PatchOptions::ShortClip::pad ? "pad" : "skip"; },
                   [](FeatureOptions& f, const std::string& rule) {
                     if (rule != "pad" && rule != "skip") bad_choice("short_clips", "'pad' or 'skip'", rule);
                     f.patch.short_clip = rule == "pad" ? PatchOptions::ShortClip::pad : PatchOptions::ShortClip::fail;
                   })
      .def("__repr__", [](const FeatureOptions& f) { return "timbre.data.FeatureOptions(" + data::describe(f) + ")"; });

  using data::Augmentation;
  nb::class_<Augmentation>(m, "Augmentation", "Training-time augmentation, drawn anew every epoch (fit's augmentation=).")
      .def("__init__", &init_from_kwargs<Augmentation>)
      .def_rw("random_crop", &Augmentation::random_crop)
      .def_rw("time_masks", &Augmentation::time_masks)
      .def_rw("time_mask_frames", &Augmentation::time_mask_frames)
      .def_rw("freq_masks", &Augmentation::freq_masks)
      .def_rw("freq_mask_bands", &Augmentation::freq_mask_bands)
      .def_rw("gain_db", &Augmentation::gain_db)
      .def_rw("mixup_alpha", &Augmentation::mixup_alpha)
      .def_rw("label_smoothing", &Augmentation::label_smoothing);
}

// A copy of the values as an int32 NumPy array (which owns the copy).
nb::ndarray<nb::numpy, int32_t, nb::ndim<1>> int_array(const std::vector<int32_t>& values) {
  auto* copy = new std::vector<int32_t>(values);
  nb::capsule owner(copy, [](void* p) noexcept { delete static_cast<std::vector<int32_t>*>(p); });
  return nb::ndarray<nb::numpy, int32_t, nb::ndim<1>>(copy->data(), {copy->size()}, owner);
}

void make_dataset(PatchDataset* self, nb::handle x, nb::handle y, nb::handle songs, Names class_names,
                  Names song_names) {
  Tensor patches = wrap_array(x, "x");
  if (patches.rank() == 3) patches = patches.view(Shape{patches.dim(0), patches.dim(1), patches.dim(2), 1});
  if (patches.rank() != 4)
    throw nb::value_error(("x: expected patches of shape (N, H, W, 1) or (N, H, W), got shape " + patches.shape().str()).c_str());
  new (self) PatchDataset();
  self->patches = patches;
  self->labels = int_values(y, "y", patches.dim(0));
  self->songs = songs.is_none() ? std::vector<int32_t>(self->labels.size(), -1) : int_values(songs, "songs", patches.dim(0));
  const int32_t top = self->labels.empty() ? 0 : *std::max_element(self->labels.begin(), self->labels.end());
  if (class_names) {
    self->class_names = *class_names;
  } else {
    for (int32_t c = 0; c <= top; ++c) self->class_names.push_back("class_" + std::to_string(c));
  }
  if (song_names) self->song_names = *song_names;
  self->validate("timbre.data.Dataset");
}

std::pair<PatchDataset, PatchDataset> split(const PatchDataset& d, const std::string& kind, double validation_fraction,
                                            uint64_t seed, int folds, int fold, const std::string& train_list,
                                            const std::string& validation_list) {
  data::SplitOptions o;
  const std::vector<std::string> kinds = {"song", "patch", "files", "k_fold"};
  const std::vector<data::SplitOptions::Kind> values = {data::SplitOptions::song, data::SplitOptions::patch,
                                                        data::SplitOptions::files, data::SplitOptions::k_fold};
  const auto it = std::find(kinds.begin(), kinds.end(), kind);
  if (it == kinds.end()) bad_choice("kind", "'song', 'patch', 'files' or 'k_fold'", kind);
  o.kind = values[static_cast<size_t>(it - kinds.begin())];
  o.validation_fraction = validation_fraction;
  o.seed = seed;
  o.folds = folds;
  o.fold = fold;
  o.train_list = train_list;
  o.validation_list = validation_list;
  data::Split parts = data::split_dataset(d, o);
  return {std::move(parts.train), std::move(parts.validation)};
}

void bind_dataset(nb::module_& m) {
  nb::class_<PatchDataset>(m, "Dataset",
                           "Labelled log-mel patches: x (N, H, W, 1) float32 (sharing the given array's memory), "
                           "y class indices, songs (the song index of each patch, -1 unknown), and their names.")
      .def("__init__", &make_dataset, arg("x"), arg("y"), arg("songs") = nb::none(), arg("class_names") = nb::none(),
           arg("song_names") = nb::none())
      // Arrays that own their memory (or its storage) are returned as objects: properties would otherwise
      // tie them to the dataset as well.
      .def_prop_ro("x", [](const PatchDataset& d) { return nb::cast(to_numpy(d.patches)); })
      .def_prop_ro("y", [](const PatchDataset& d) { return nb::cast(int_array(d.labels)); })
      .def_prop_ro("songs", [](const PatchDataset& d) { return nb::cast(int_array(d.songs)); })
      .def_rw("class_names", &PatchDataset::class_names)
      .def_rw("song_names", &PatchDataset::song_names)
      .def_prop_ro("num_classes", &PatchDataset::num_classes)
      .def("__len__", &PatchDataset::size)
      .def("subset", &PatchDataset::subset, arg("indices"))
      .def("split", &split, arg("kind") = "song", arg("validation_fraction") = 0.2, arg("seed") = 42,
           arg("folds") = 5, arg("fold") = 0, arg("train_list") = "", arg("validation_list") = "",
           "(train, validation), stratified by genre: whole songs to each side ('song', the default), single "
           "patches ('patch'), the songs listed in files ('files'), or fold `fold` of `folds` ('k_fold').")
      .def("__repr__", [](const PatchDataset& d) {
        const std::set<int32_t> songs(d.songs.begin(), d.songs.end());
        const size_t known = songs.size() - songs.count(-1);
        return "timbre.data.Dataset(" + std::to_string(d.size()) + " patches of " + d.sample_shape().str() + ", " +
               std::to_string(d.num_classes()) + " classes, " + std::to_string(known) + " songs)";
      });
}

// A float32 mono signal as a vector (the extractors take vectors).
std::vector<float> signal_of(nb::handle signal) {
  const Tensor t = wrap_array(signal, "signal");
  if (t.rank() != 1)
    throw nb::value_error(("signal: expected mono audio of shape (samples,), got shape " + t.shape().str()).c_str());
  return t.to_vector<float>();
}

// Warns (a Python UserWarning) about the files a loader skipped, naming them by reason.
void warn_skipped(const data::GtzanReport& report) {
  if (report.skipped.empty()) return;
  std::string text = report.summary();
  for (const data::SkippedFile& s : report.skipped) text += "\n  " + s.message;
  if (PyErr_WarnEx(PyExc_UserWarning, text.c_str(), 1) != 0) throw nb::python_error();
}

data::GtzanOptions gtzan_options(Names genres, std::optional<data::FeatureOptions> features, bool use_cache,
                                 const std::string& cache_dir) {
  data::GtzanOptions o;
  o.genres = genres.value_or(std::vector<std::string>{});
  o.features = features.value_or(data::FeatureOptions{});
  o.use_cache = use_cache;
  o.cache_dir = cache_dir;
  return o;
}

PatchDataset load_gtzan(const std::filesystem::path& root, Names genres, std::optional<data::FeatureOptions> features,
                        bool use_cache, const std::string& cache_dir) {
  data::GtzanReport report;
  PatchDataset d;
  {
    nb::gil_scoped_release released;
    d = data::load_gtzan(root.string(), gtzan_options(genres, features, use_cache, cache_dir), &report);
  }
  warn_skipped(report);
  return d;
}

std::pair<PatchDataset, std::vector<std::string>> load_track_list(const std::filesystem::path& path, Names genres,
                                                                  std::optional<data::FeatureOptions> features,
                                                                  bool use_cache, const std::string& cache_dir) {
  data::GtzanReport report;
  data::TrackList list;
  {
    nb::gil_scoped_release released;
    list = data::load_track_list(path.string(), gtzan_options(genres, features, use_cache, cache_dir), &report);
  }
  warn_skipped(report);
  return {std::move(list.dataset), std::move(list.song_splits)};
}

void bind_sources(nb::module_& m) {
  m.def("synthetic_genres", &data::synthetic_genre_names);
  m.def("synthetic",
        [](int64_t songs_per_genre, uint64_t seed, Names genres, double clip_seconds, double style_drift,
           std::optional<data::FeatureOptions> features) {
          data::SyntheticOptions o;
          o.songs_per_genre = songs_per_genre;
          o.seed = seed;
          o.genres = genres.value_or(std::vector<std::string>{});
          o.clip_seconds = clip_seconds;
          o.style_drift = style_drift;
          nb::gil_scoped_release released;
          return data::make_synthetic_dataset(o, features.value_or(data::FeatureOptions{}));
        },
        arg("songs_per_genre") = 40, arg("seed") = 7, arg("genres") = nb::none(), arg("clip_seconds") = 28.0,
        arg("style_drift") = 0.45, arg("features") = nb::none(),
        "The built-in synthetic set (the trainers' --data synthetic): 8 genres, songs named genre/genre.000NN.wav.");
  m.def("synthesize_song",
        [](const std::string& genre, int64_t index, uint64_t seed, double clip_seconds, double style_drift,
           int sample_rate) {
          data::SyntheticOptions o;
          o.seed = seed;
          o.clip_seconds = clip_seconds;
          o.style_drift = style_drift;
          std::vector<float> audio;
          {
            nb::gil_scoped_release released;
            audio = data::synthesize_song(genre, index, o, sample_rate);
          }
          return to_numpy(Tensor::from<float>({static_cast<int64_t>(audio.size())}, audio));
        },
        arg("genre"), arg("index") = 0, arg("seed") = 7, arg("clip_seconds") = 28.0, arg("style_drift") = 0.45,
        arg("sample_rate") = 22050, "The mono audio of one synthetic song, float32.");
  m.def("load_gtzan", &load_gtzan, arg("root"), arg("genres") = nb::none(), arg("features") = nb::none(),
        arg("use_cache") = true, arg("cache_dir") = "",
        "A GTZAN-style folder (one folder per genre); unusable files are skipped with a warning naming them.");
  m.def("load_track_list", &load_track_list, arg("path"), arg("genres") = nb::none(), arg("features") = nb::none(),
        arg("use_cache") = true, arg("cache_dir") = "",
        "A list file of path,genre[,split] rows: (Dataset, each song's split: 'train', 'validation' or '').");
  m.def("load_tfdata",
        [](const std::filesystem::path& dir, const std::string& compression, Names class_names) {
          data::TfDataOptions o;
          o.compression = compression;
          o.class_names = class_names.value_or(std::vector<std::string>{});
          nb::gil_scoped_release released;
          return data::load_tfdata(dir.string(), o);
        },
        arg("dir"), arg("compression") = "auto", arg("class_names") = nb::none(),
        "A directory written by tf.data.Dataset.save (the seed's saved data sets), uncompressed, GZIP or SNAPPY.");
  m.def("save_tfdata",
        [](const PatchDataset& d, const std::filesystem::path& dir, const std::string& compression, int num_shards,
           bool one_hot_labels, bool overwrite) {
          nb::gil_scoped_release released;
          data::save_tfdata(d, dir.string(), {compression, num_shards, one_hot_labels, overwrite});
        },
        arg("dataset"), arg("dir"), arg("compression") = "none", arg("num_shards") = 1, arg("one_hot_labels") = true,
        arg("overwrite") = false, "Writes `dataset` so that tf.data.Dataset.load(dir) reads it.");
}

void bind_features(nb::module_& m) {
  m.def("log_mel",
        [](nb::handle signal, int sample_rate, std::optional<data::MelOptions> options) {
          const std::vector<float> samples = signal_of(signal);
          data::MelSpectrogram s;
          {
            nb::gil_scoped_release released;
            s = data::MelExtractor(sample_rate, options.value_or(data::MelOptions{})).compute(samples);
          }
          return to_numpy(Tensor::from<float>({s.n_mels, s.frames}, s.values));
        },
        arg("signal"), arg("sample_rate") = 22050, arg("options") = nb::none(),
        "The log-mel spectrogram (n_mels, frames) of a float32 mono signal, as librosa.power_to_db("
        "librosa.feature.melspectrogram(...)) with its defaults and 80 bands.");
  m.def("mel_filterbank",
        [](int sample_rate, std::optional<data::MelOptions> options) {
          const data::MelOptions o = options.value_or(data::MelOptions{});
          const std::vector<float> bank = data::mel_filterbank(sample_rate, o);
          return to_numpy(Tensor::from<float>({o.n_mels, 1 + o.n_fft / 2}, bank));
        },
        arg("sample_rate") = 22050, arg("options") = nb::none(), "librosa.filters.mel(sr, n_fft, n_mels, ...).");
  m.def("extract_patches",
        [](nb::handle signal, int sample_rate, std::optional<data::FeatureOptions> features) {
          const data::FeatureOptions f = features.value_or(data::FeatureOptions{});
          std::vector<float> mono = signal_of(signal);
          Tensor patches;
          {
            nb::gil_scoped_release released;
            if (sample_rate != f.sample_rate) mono = data::resample(std::move(mono), sample_rate, f.sample_rate);
            patches = data::FeatureExtractor(f).from_audio(mono, "signal");
          }
          return to_numpy(patches);
        },
        arg("signal"), arg("sample_rate") = 22050, arg("features") = nb::none(),
        "Patches (P, n_mels, frames_per_patch, 1) of a float32 mono signal, resampled to the features' rate.");
  m.def("load_audio",
        [](const std::filesystem::path& path, int sample_rate) {
          std::vector<float> mono;
          {
            nb::gil_scoped_release released;
            mono = data::load_mono(path.string(), sample_rate);
          }
          return to_numpy(Tensor::from<float>({static_cast<int64_t>(mono.size())}, mono));
        },
        arg("path"), arg("sample_rate") = 22050, "An audio file as float32 mono at `sample_rate` (librosa.load).");
  m.def("patches_from_file",
        [](const std::filesystem::path& path, std::optional<data::FeatureOptions> features) {
          Tensor patches;
          {
            nb::gil_scoped_release released;
            patches = data::patches_from_file(path.string(), features.value_or(data::FeatureOptions{}));
          }
          return to_numpy(patches);
        },
        arg("path"), arg("features") = nb::none());
}

}  // namespace

void bind_data(nb::module_& m) {
  bind_options(m);
  bind_dataset(m);
  bind_sources(m);
  bind_features(m);
}

}  // namespace timbre::python
