// The default data set: deterministic synthetic music in 8 made-up genres
// that differ as genres do (tempo, drum patterns, harmonic or noisy timbre,
// pitch range, note density, distortion), each song varying within its genre
// and drifting part-way toward another genre's style, so that genres overlap.
// The clips go through the same pipeline as real audio (log-mel, patches).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "timbre/data/dataset.h"
#include "timbre/data/features.h"

namespace timbre::data {

struct SyntheticOptions {
  int64_t songs_per_genre = 40;  // 8 x 40 songs x 15 patches = 4,800 patches with the default features
  uint64_t seed = 7;
  double clip_seconds = 28.0;  // 1,206 frames at hop 512: room for 15 patches of 80 frames
  std::vector<std::string> genres;  // a subset of synthetic_genre_names(), in label order; empty: all 8
  // How far a song's style may drift toward another genre's (drawn in [0, style_drift] per song):
  // 0 gives pure, easily told genres; larger values blur them.
  double style_drift = 0.45;
};

// ambient, chiptune, classical, folk, hiphop, metal, reggae, techno.
std::vector<std::string> synthetic_genre_names();

// The audio of song `index` of `genre`, mono at `sample_rate`. Depends only on
// (options.seed, genre, index, clip_seconds, style_drift), not on the other genres chosen.
std::vector<float> synthesize_song(const std::string& genre, int64_t index, const SyntheticOptions& options,
                                   int sample_rate = 22050);

// Songs named "<genre>/<genre>.000NN.wav", labels in the order of options.genres. Threaded over songs.
PatchDataset make_synthetic_dataset(const SyntheticOptions& options = {}, const FeatureOptions& features = {});

// Writes the songs as 16-bit WAV files <dir>/<genre>/<genre>.000NN.wav, a GTZAN-style folder.
void write_synthetic_gtzan(const std::string& dir, const SyntheticOptions& options = {}, int sample_rate = 22050);

}  // namespace timbre::data
