#include "timbre/data/gtzan.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <memory>

#include "timbre/core/error.h"
#include "timbre/data/cache.h"

namespace timbre::data {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Hidden and underscore folders (.timbre-cache, __MACOSX) are not genres.
bool is_genre_folder(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  return e.is_directory() && !name.empty() && name[0] != '.' && name[0] != '_';
}

struct SongFile {
  std::string path, song_name;
  int32_t label;
};

// One file's outcome: its patches, or why it was skipped.
struct Extracted {
  Tensor patches;
  std::string error;          // why the file is skipped
  std::string cache_warning;  // why its features could not be cached (the file is still used)
  bool from_cache = false;
};

}  // namespace

PatchDataset load_gtzan(const std::string& root, const GtzanOptions& options, GtzanReport* report) {
  const std::string where = "load_gtzan(" + root + ")";
  check(fs::is_directory(root), where, "no such folder");
  std::vector<std::string> genres = options.genres;
  if (genres.empty()) {
    for (const auto& e : fs::directory_iterator(root))
      if (is_genre_folder(e)) genres.push_back(e.path().filename().string());
    std::sort(genres.begin(), genres.end());
    check(!genres.empty(), where, "no genre folders (expected <root>/<genre>/<name>.wav or .au)");
  }
  std::vector<std::string> extensions;
  for (const std::string& ext : options.extensions) extensions.push_back(lower(ext));

  std::vector<SongFile> files;
  for (size_t g = 0; g < genres.size(); ++g) {
    const fs::path folder = fs::path(root) / genres[g];
    check(fs::is_directory(folder), where, "no folder for genre \"", genres[g], "\" (", folder.string(), ")");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(folder)) {
      const std::string ext = lower(e.path().extension().string());
      if (e.is_regular_file() && std::find(extensions.begin(), extensions.end(), ext) != extensions.end())
        names.push_back(e.path().filename().string());
    }
    check(!names.empty(), where, "genre folder ", folder.string(), " holds no audio files");
    std::sort(names.begin(), names.end());
    for (const std::string& n : names)
      files.push_back({(folder / n).string(), genres[g] + "/" + n, static_cast<int32_t>(g)});
  }

  std::unique_ptr<FeatureCache> cache;
  if (options.use_cache) {
    const std::string dir = options.cache_dir.empty() ? (fs::path(root) / ".timbre-cache").string() : options.cache_dir;
    try {
      cache = std::make_unique<FeatureCache>(dir, options.features);
    } catch (const Error& e) {
      std::cerr << "warning: " << e.what() << "; extracting without a cache\n";
    }
  }

  const FeatureExtractor extractor(options.features);
  std::vector<Extracted> results(files.size());
  const int64_t n_files = static_cast<int64_t>(files.size());
#pragma omp parallel for schedule(dynamic)
  for (int64_t i = 0; i < n_files; ++i) {
    Extracted& r = results[i];
    try {
      uint64_t content_hash = 0;
      if (cache) {
        content_hash = hash_file(files[i].path);
        if (std::optional<Tensor> hit = cache->load(content_hash)) {
          r.patches = *hit;
          r.from_cache = true;
          continue;
        }
      }
      r.patches = extractor.from_file(files[i].path);
      if (cache) {
        try {
          cache->store(content_hash, r.patches);
        } catch (const Error& e) {
          r.cache_warning = e.what();
        }
      }
    } catch (const std::exception& e) {
      r.error = e.what();
    }
  }

  GtzanReport local;
  GtzanReport& rep = report ? *report : local;
  rep = {};
  rep.files = n_files;
  std::vector<ClipPatches> clips;
  for (int64_t i = 0; i < n_files; ++i) {
    if (!results[i].cache_warning.empty()) std::cerr << "warning: " << results[i].cache_warning << "\n";
    if (!results[i].error.empty()) {
      // The pipeline's errors name the file already; others get it prepended.
      const std::string& error = results[i].error;
      rep.skipped.push_back(error.find(files[i].path) != std::string::npos ? error : files[i].path + ": " + error);
      std::cerr << "warning: skipping " << rep.skipped.back() << "\n";
      continue;
    }
    (results[i].from_cache ? rep.cached : rep.extracted) += 1;
    clips.push_back({results[i].patches, files[i].label, files[i].song_name});
  }
  check(!clips.empty(), where, "none of the ", n_files, " audio files could be used (see the warnings above)");
  return stack_clips(clips, genres, where);
}

}  // namespace timbre::data
