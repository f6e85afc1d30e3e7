// Train/validation splits of a PatchDataset, stratified by genre and
// deterministic under a seed. A song-level split (the default) keeps all
// patches of a song on one side; a patch-level split does not, and so lets
// the validation score see songs the model trained on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "timbre/data/dataset.h"

namespace timbre::data {

struct SplitOptions {
  enum Kind {
    song,   // whole songs to each side, validation_fraction of each genre's songs to validation
    patch,  // single patches, validation_fraction of each genre's patches to validation
    files,  // the songs named in train_list / validation_list
    given,  // song_sides: each song's side
    k_fold  // K-fold cross-validation by song: each genre's songs dealt into `folds` folds, fold `fold` validates
  } kind = song;
  double validation_fraction = 0.2;
  uint64_t seed = 42;
  // Text files, one song per line: its song name ("blues/blues.00042.wav") or,
  // when unambiguous, its file name ("blues.00042.wav"); blank lines and lines
  // starting with '#' are ignored. With one list given, the other side gets
  // every song not in it; with both, songs in neither are left out.
  std::string train_list, validation_list;
  std::vector<int> song_sides;  // kind given: per song, 0 training, 1 validation, -1 neither
  int folds = 5, fold = 0;      // kind folds: 0 <= fold < folds
};

struct Split {
  PatchDataset train, validation;
};

// Throws timbre::Error for a fraction outside [0, 1), a song, files, given or
// fold split of a data set without song ids, an unreadable list, a name in a
// list that is not a song of the data set, a song in both lists, song_sides
// not one per song, or folds < 2, a fold out of range, or a genre with fewer
// songs than folds.
Split split_dataset(const PatchDataset& dataset, const SplitOptions& options);

}  // namespace timbre::data
