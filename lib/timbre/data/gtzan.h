// Labelled audio collections as data sets: GTZAN-style folders
// (<root>/<genre>/.../<name>.<ext>, a genre being a top-level folder) and
// list files (path,genre[,split] rows, as FMA, MTG-Jamendo and published
// GTZAN splits come). Every file goes through the feature pipeline (threaded
// over files, results in list order); files that cannot be used (unreadable,
// too short, silent, NaN samples) are named in a warning on stderr, counted by
// reason, and skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "timbre/data/dataset.h"
#include "timbre/data/features.h"

namespace timbre::data {

// Every container libsndfile decodes (Ogg holds Vorbis or Opus; MP3 since libsndfile 1.1).
inline const std::vector<std::string> kAudioExtensions = {".wav", ".au", ".snd", ".aiff", ".aif", ".aifc",
                                                          ".flac", ".ogg", ".oga", ".opus", ".mp3"};

struct GtzanOptions {
  std::vector<std::string> genres;  // labels in this order; empty: every genre found, sorted
  FeatureOptions features;
  std::vector<std::string> extensions = kAudioExtensions;  // audio files to read (case-insensitive)
  bool use_cache = true;
  std::string cache_dir;  // empty: <root>/.timbre-cache (for a list file: beside it)
  uintmax_t cache_max_bytes = uintmax_t{4} << 30;  // after loading, least recently used entries beyond this go
};

struct SkippedFile {
  std::string path;
  ClipProblem problem;
  std::string message;  // names the file and what is wrong
};

// What a load did, for logs and tests.
struct GtzanReport {
  int64_t files = 0;       // audio files found (listed)
  int64_t extracted = 0;   // features computed from audio
  int64_t cached = 0;      // features read from the cache
  int64_t cache_repaired = 0;  // damaged cache entries, extracted anew
  int64_t cache_pruned = 0;    // entries removed to keep the cache within its size
  int64_t patches = 0;     // patches of the files used
  std::vector<SkippedFile> skipped;
  int64_t left_out = 0;    // list rows not loaded: other genres than GtzanOptions::genres, or split "test"

  // "used 98 of 100 files (2,940 patches; 90 extracted, 8 from the cache); skipped 2: 1 unreadable, 1 too short"
  std::string summary() const;
  int64_t skipped_for(ClipProblem problem) const;
};

// Throws timbre::Error when root is missing, holds no genre folders, a
// requested genre has no folder or is given twice, fewer than two genres
// remain, a genre folder holds no audio files, or no file at all could be
// used. Song names are "<genre>/<path below the genre folder>".
PatchDataset load_gtzan(const std::string& root, const GtzanOptions& options = {}, GtzanReport* report = nullptr);

// A list file's data set and each song's split column ("train", "validation"
// or "" when the file has none; "val" and "valid" read as "validation").
struct TrackList {
  PatchDataset dataset;
  std::vector<std::string> song_splits;  // per song of dataset
  bool has_splits = false;               // every row names its split
};

// Reads a CSV list file of path,genre[,split] rows: paths relative to the
// file's folder (or absolute), an optional header row naming the columns,
// fields optionally double-quoted, '#' comment lines. Rows of split "test" are
// left out. Song names are the paths as listed. Throws timbre::Error naming the
// file and line for a malformed row, an unknown split, a song listed twice, a
// genre in GtzanOptions::genres that no row has, fewer than two genres, or no
// usable file; files that are missing or unusable are skipped by name.
TrackList load_track_list(const std::string& csv_path, const GtzanOptions& options = {},
                          GtzanReport* report = nullptr);

}  // namespace timbre::data
