#include "timbre/data/split.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "timbre/core/error.h"
#include "timbre/core/random.h"

namespace timbre::data {

namespace {

// Fisher-Yates with an explicit draw, so the order is the same with every standard library.
void shuffle(std::vector<int64_t>& v, Generator& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.next_u64() % i]);
}

// Per class, the items (songs or patches) sent to validation: a seeded shuffle, then the first round(f * n).
std::vector<bool> stratified_pick(const std::vector<std::vector<int64_t>>& items_by_class, size_t n_items,
                                  double fraction, uint64_t seed) {
  Generator rng(seed);
  std::vector<bool> to_validation(n_items, false);
  for (std::vector<int64_t> items : items_by_class) {
    shuffle(items, rng);
    const auto n_val = static_cast<size_t>(std::llround(fraction * static_cast<double>(items.size())));
    for (size_t i = 0; i < n_val; ++i) to_validation[static_cast<size_t>(items[i])] = true;
  }
  return to_validation;
}

// Each class's song ids, in order of first appearance.
std::vector<std::vector<int64_t>> songs_by_class(const PatchDataset& ds) {
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(ds.num_classes()));
  std::vector<bool> seen(ds.song_names.size(), false);
  for (int64_t i = 0; i < ds.size(); ++i) {
    const auto s = static_cast<size_t>(ds.songs[i]);
    if (!seen[s]) by_class[ds.labels[i]].push_back(static_cast<int64_t>(s));
    seen[s] = true;
  }
  return by_class;
}

// Per song, 1 when it falls in fold `fold`: each class's songs shuffled once (the same for every fold),
// then dealt round-robin (each class starting one fold later, so that remainders spread), so the folds
// partition the songs and every genre is spread evenly.
std::vector<int> fold_sides(const std::vector<std::vector<int64_t>>& songs_by_class, size_t n_songs, int folds,
                            int fold, uint64_t seed) {
  Generator rng(seed);
  std::vector<int> side(n_songs, 0);
  for (size_t c = 0; c < songs_by_class.size(); ++c) {
    std::vector<int64_t> songs = songs_by_class[c];
    shuffle(songs, rng);
    for (size_t i = 0; i < songs.size(); ++i)
      side[static_cast<size_t>(songs[i])] = static_cast<int>((i + c) % static_cast<size_t>(folds)) == fold ? 1 : 0;
  }
  return side;
}

// The song ids named in a list file.
std::vector<bool> read_song_list(const std::string& path, const PatchDataset& ds) {
  const std::string where = "split list " + path;
  std::ifstream in(path);
  check(in.good(), where, "cannot open the file");
  std::map<std::string, std::vector<int64_t>> by_name;
  for (size_t s = 0; s < ds.song_names.size(); ++s) {
    const std::string& name = ds.song_names[s];
    by_name[name].push_back(static_cast<int64_t>(s));
    const std::string base = std::filesystem::path(name).filename().string();
    if (base != name) by_name[base].push_back(static_cast<int64_t>(s));
  }
  std::vector<bool> listed(ds.song_names.size(), false);
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    const size_t b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    const std::string name = line.substr(b, e - b + 1);
    auto it = by_name.find(name);
    check(it != by_name.end(), where, "line ", line_no, ": \"", name, "\" is not a song of the data set (",
          ds.song_names.size(), " songs, e.g. \"", ds.song_names.empty() ? "" : ds.song_names.front(), "\")");
    check(it->second.size() == 1, where, "line ", line_no, ": \"", name, "\" names ", it->second.size(),
          " songs; give the genre folder too");
    listed[static_cast<size_t>(it->second.front())] = true;
  }
  return listed;
}

}  // namespace

Split split_dataset(const PatchDataset& ds, const SplitOptions& o) {
  const std::string where = "split_dataset";
  ds.validate(where);
  check(o.validation_fraction >= 0 && o.validation_fraction < 1, where, "validation_fraction must be in [0, 1), got ",
        o.validation_fraction);
  const size_t n_songs = ds.song_names.size();
  const bool by_song = o.kind != SplitOptions::patch;
  if (by_song) {
    check(!ds.songs.empty() && n_songs > 0, where, "a song-level split needs song ids; this data set has none");
    for (int32_t s : ds.songs) check(s >= 0, where, "a song-level split needs every patch's song; one is unknown (-1)");
  }

  // side[i]: 0 train, 1 validation, -1 neither (songs in no list).
  std::vector<int> song_side(n_songs, 0);
  std::vector<int> patch_side(static_cast<size_t>(ds.size()), 0);
  if (o.kind == SplitOptions::patch) {
    std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(ds.num_classes()));
    for (int64_t i = 0; i < ds.size(); ++i) by_class[ds.labels[i]].push_back(i);
    const std::vector<bool> val = stratified_pick(by_class, patch_side.size(), o.validation_fraction, o.seed);
    for (size_t i = 0; i < val.size(); ++i) patch_side[i] = val[i] ? 1 : 0;
  } else {
    if (o.kind == SplitOptions::song) {
      const std::vector<bool> val = stratified_pick(songs_by_class(ds), n_songs, o.validation_fraction, o.seed);
      for (size_t s = 0; s < n_songs; ++s) song_side[s] = val[s] ? 1 : 0;
    } else if (o.kind == SplitOptions::k_fold) {
      check(o.folds >= 2 && o.fold >= 0 && o.fold < o.folds, where, "need 2 or more folds and 0 <= fold < folds, got fold ",
            o.fold, " of ", o.folds);
      const std::vector<std::vector<int64_t>> by_class = songs_by_class(ds);
      for (size_t c = 0; c < by_class.size(); ++c)
        check(static_cast<int64_t>(by_class[c].size()) >= o.folds, where, "genre \"", ds.class_names[c], "\" has ",
              by_class[c].size(), " songs, fewer than the ", o.folds, " folds");
      song_side = fold_sides(by_class, n_songs, o.folds, o.fold, o.seed);
    } else if (o.kind == SplitOptions::given) {
      check(o.song_sides.size() == n_songs, where, "song_sides has ", o.song_sides.size(), " entries for ", n_songs,
            " songs");
      song_side = o.song_sides;
    } else {
      check(!o.train_list.empty() || !o.validation_list.empty(), where,
            "a files split needs train_list or validation_list");
      const std::vector<bool> train = o.train_list.empty() ? std::vector<bool>() : read_song_list(o.train_list, ds);
      const std::vector<bool> val =
          o.validation_list.empty() ? std::vector<bool>() : read_song_list(o.validation_list, ds);
      for (size_t s = 0; s < n_songs; ++s) {
        const bool in_train = !train.empty() && train[s], in_val = !val.empty() && val[s];
        check(!(in_train && in_val), where, "song \"", ds.song_names[s], "\" is in both ", o.train_list, " and ",
              o.validation_list);
        song_side[s] = in_val ? 1 : in_train ? 0 : train.empty() ? 0 : val.empty() ? 1 : -1;
      }
    }
    for (int64_t i = 0; i < ds.size(); ++i) patch_side[i] = song_side[static_cast<size_t>(ds.songs[i])];
  }

  std::vector<int64_t> train_idx, val_idx;
  for (int64_t i = 0; i < ds.size(); ++i) {
    if (patch_side[i] == 0) train_idx.push_back(i);
    if (patch_side[i] == 1) val_idx.push_back(i);
  }
  return {ds.subset(train_idx), ds.subset(val_idx)};
}

}  // namespace timbre::data
