// GTZAN-style folders: <root>/<genre>/<name>.{wav,au}, one folder per genre.
// Every file goes through the feature pipeline (threaded over files, results
// in sorted order); files that cannot be used (unreadable, truncated, too
// short) are named in a warning on stderr and skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "timbre/data/dataset.h"
#include "timbre/data/features.h"

namespace timbre::data {

struct GtzanOptions {
  std::vector<std::string> genres;  // labels in this order; empty: every genre folder found, sorted
  FeatureOptions features;
  std::vector<std::string> extensions = {".wav", ".au"};  // audio files to read (case-insensitive)
  bool use_cache = true;
  std::string cache_dir;  // empty: <root>/.timbre-cache
};

// What a load did, for logs and tests.
struct GtzanReport {
  int64_t files = 0;       // audio files found
  int64_t extracted = 0;   // features computed from audio
  int64_t cached = 0;      // features read from the cache
  std::vector<std::string> skipped;  // "<file>: <reason>", one per skipped file
};

// Throws timbre::Error when root is missing, holds no genre folders, a
// requested genre has no folder, a genre folder holds no audio files, or no
// file at all could be used. Song names are "<genre>/<file name>".
PatchDataset load_gtzan(const std::string& root, const GtzanOptions& options = {}, GtzanReport* report = nullptr);

}  // namespace timbre::data
