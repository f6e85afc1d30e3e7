#include "timbre/data/gtzan.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "timbre/core/error.h"
#include "timbre/data/cache.h"

namespace timbre::data {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Hidden and underscore folders (.timbre-cache, __MACOSX) hold no songs.
bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.empty() || name[0] == '.' || name[0] == '_';
}

struct SongFile {
  std::string path, song_name;
  int32_t label;
};

// One file's outcome: its patches, or why it was skipped.
struct Extracted {
  Tensor patches;
  std::optional<SkippedFile> skipped;
  std::string cache_warning;  // why its features could not be cached (the file is still used)
  bool from_cache = false;
  bool cache_repaired = false;  // a damaged cache entry was found (and is replaced)
};

void check_genres(const std::vector<std::string>& genres, const std::string& where) {
  std::set<std::string> seen;
  for (const std::string& g : genres) check(seen.insert(g).second, where, "genre \"", g, "\" is given twice");
  check(genres.size() >= 2, where, "need at least two genres to tell apart, got ", genres.size(),
        genres.empty() ? "" : " (\"" + genres.front() + "\")");
}

std::unique_ptr<FeatureCache> open_cache(const GtzanOptions& options, const fs::path& default_dir) {
  if (!options.use_cache) return nullptr;
  try {
    return std::make_unique<FeatureCache>(options.cache_dir.empty() ? default_dir.string() : options.cache_dir,
                                          options.features);
  } catch (const Error& e) {
    std::cerr << "warning: " << e.what() << "; extracting without a cache\n";
    return nullptr;
  }
}

Extracted extract(const SongFile& file, const FeatureExtractor& extractor, const FeatureCache* cache) {
  Extracted r;
  try {
    uint64_t content_hash = 0;
    if (cache) {
      content_hash = hash_file(file.path);
      if (std::optional<Tensor> hit = cache->load(content_hash, &r.cache_repaired)) {
        r.patches = *hit;
        r.from_cache = true;
        return r;
      }
      if (r.cache_repaired)
        r.cache_warning = "the feature cache entry " + cache->entry_path(content_hash) + " of " + file.path +
                          " was damaged (torn or failing its checksum); extracting it again";
    }
    r.patches = extractor.from_file(file.path);
    if (cache) {
      try {
        cache->store(content_hash, r.patches);
      } catch (const Error& e) {
        r.cache_warning = e.what();
      }
    }
  } catch (const ClipError& e) {
    r.skipped = SkippedFile{file.path, e.problem(), e.what()};
  } catch (const std::exception& e) {  // hash_file's read errors; allocation failures
    const std::string message = e.what();
    r.skipped = SkippedFile{file.path, ClipProblem::unreadable,
                            message.find(file.path) != std::string::npos ? message : file.path + ": " + message};
  }
  return r;
}

// The files' patches, extracted in parallel (or read from the cache), stacked in list order.
PatchDataset load_song_files(const std::vector<SongFile>& files, const std::vector<std::string>& genres,
                             const GtzanOptions& options, const fs::path& default_cache, GtzanReport& report,
                             const std::string& where) {
  const std::unique_ptr<FeatureCache> cache = open_cache(options, default_cache);
  const FeatureExtractor extractor(options.features);
  std::vector<Extracted> results(files.size());
  const auto n_files = static_cast<int64_t>(files.size());
#pragma omp parallel for schedule(dynamic)
  for (int64_t i = 0; i < n_files; ++i) results[i] = extract(files[i], extractor, cache.get());

  report.files += n_files;
  std::vector<ClipPatches> clips;
  for (int64_t i = 0; i < n_files; ++i) {
    if (!results[i].cache_warning.empty()) std::cerr << "warning: " << results[i].cache_warning << "\n";
    if (results[i].skipped) {
      report.skipped.push_back(*results[i].skipped);
      std::cerr << "warning: skipping " << report.skipped.back().message << "\n";
      continue;
    }
    (results[i].from_cache ? report.cached : report.extracted) += 1;
    report.cache_repaired += results[i].cache_repaired;
    report.patches += results[i].patches.dim(0);
    clips.push_back({results[i].patches, files[i].label, files[i].song_name});
  }
  if (cache) report.cache_pruned += cache->prune(options.cache_max_bytes);
  check(!clips.empty(), where, "none of the ", n_files, " audio files could be used (see the warnings above)");
  return stack_clips(clips, genres, where);
}

// Splits one CSV line into fields: commas separate, double quotes enclose (a doubled quote is one quote).
std::vector<std::string> csv_fields(const std::string& line, const std::string& where) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else if (c != '\r' || quoted) {
      fields.back() += c;
    }
  }
  check(!quoted, where, "a quoted field is not closed");
  for (std::string& f : fields) {
    const size_t b = f.find_first_not_of(" \t"), e = f.find_last_not_of(" \t");
    f = b == std::string::npos ? "" : f.substr(b, e - b + 1);
  }
  return fields;
}

std::string split_name(const std::string& field, const std::string& where) {
  const std::string s = lower(field);
  if (s == "train" || s == "training") return "train";
  if (s == "validation" || s == "val" || s == "valid") return "validation";
  if (s == "test") return "test";
  fail(where + ": split \"" + field + "\" is none of train, validation (val, valid) or test");
}

struct ListRow {
  std::string path, genre, split;
};

std::vector<ListRow> read_list_rows(const std::string& csv_path) {
  std::ifstream in(csv_path);
  check(in.good(), "list file " + csv_path, "cannot open the file");
  std::vector<ListRow> rows;
  std::set<std::string> listed;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    const std::string where = "list file " + csv_path + ", line " + std::to_string(line_no);
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const std::vector<std::string> f = csv_fields(line, where);
    if (rows.empty() && listed.empty() && lower(f[0]) == "path") {  // the header row
      listed.insert("");
      continue;
    }
    check(f.size() == 2 || f.size() == 3, where, "expected path,genre or path,genre,split, got ", f.size(),
          " fields");
    check(!f[0].empty() && !f[1].empty(), where, "empty ", f[0].empty() ? "path" : "genre");
    check(listed.insert(f[0]).second, where, "\"", f[0], "\" is listed twice");
    rows.push_back({f[0], f[1], f.size() == 3 ? split_name(f[2], where) : ""});
  }
  check(!rows.empty(), "list file " + csv_path, "lists no files (expected path,genre[,split] rows)");
  return rows;
}

}  // namespace

int64_t GtzanReport::skipped_for(ClipProblem problem) const {
  return std::count_if(skipped.begin(), skipped.end(), [&](const SkippedFile& s) { return s.problem == problem; });
}

std::string GtzanReport::summary() const {
  std::string s = "used " + std::to_string(files - static_cast<int64_t>(skipped.size())) + " of " +
                  std::to_string(files) + " files (" + std::to_string(patches) + " patches; " +
                  std::to_string(extracted) + " extracted, " + std::to_string(cached) + " from the cache)";
  if (!skipped.empty()) {
    s += "; skipped " + std::to_string(skipped.size()) + ":";
    const char* sep = " ";
    for (ClipProblem p : {ClipProblem::unreadable, ClipProblem::too_short, ClipProblem::non_finite, ClipProblem::silent})
      if (const int64_t n = skipped_for(p); n > 0) {
        s += sep + std::to_string(n) + " " + to_string(p);
        sep = ", ";
      }
  }
  if (left_out > 0) s += "; " + std::to_string(left_out) + " list rows left out (other genres or split test)";
  if (cache_repaired > 0) s += "; " + std::to_string(cache_repaired) + " damaged cache entries extracted again";
  if (cache_pruned > 0) s += "; " + std::to_string(cache_pruned) + " least recently used cache entries removed";
  return s;
}

PatchDataset load_gtzan(const std::string& root, const GtzanOptions& options, GtzanReport* report) {
  const std::string where = "load_gtzan(" + root + ")";
  check(fs::is_directory(root), where, "no such folder");
  std::vector<std::string> genres = options.genres;
  if (genres.empty()) {
    for (const auto& e : fs::directory_iterator(root))
      if (e.is_directory() && !is_hidden(e.path())) genres.push_back(e.path().filename().string());
    std::sort(genres.begin(), genres.end());
    check(!genres.empty(), where, "no genre folders (expected <root>/<genre>/<name>.wav, .flac, .mp3, ...)");
  }
  check_genres(genres, where);
  std::vector<std::string> extensions;
  for (const std::string& ext : options.extensions) extensions.push_back(lower(ext));

  std::vector<SongFile> files;
  for (size_t g = 0; g < genres.size(); ++g) {
    const fs::path folder = fs::path(root) / genres[g];
    check(fs::is_directory(folder), where, "no folder for genre \"", genres[g], "\" (", folder.string(), ")");
    std::vector<std::string> names;  // below the genre folder, sub-folders included
    for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::follow_directory_symlink);
         it != fs::recursive_directory_iterator(); ++it) {
      if (is_hidden(it->path())) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      const std::string ext = lower(it->path().extension().string());
      if (it->is_regular_file() && std::find(extensions.begin(), extensions.end(), ext) != extensions.end())
        names.push_back(fs::relative(it->path(), folder).generic_string());
    }
    check(!names.empty(), where, "genre folder ", folder.string(), " holds no audio files");
    std::sort(names.begin(), names.end());
    for (const std::string& n : names)
      files.push_back({(folder / n).string(), genres[g] + "/" + n, static_cast<int32_t>(g)});
  }
  GtzanReport local;
  GtzanReport& rep = report ? *report : local;
  rep = {};
  return load_song_files(files, genres, options, fs::path(root) / ".timbre-cache", rep, where);
}

TrackList load_track_list(const std::string& csv_path, const GtzanOptions& options, GtzanReport* report) {
  const std::string where = "list file " + csv_path;
  const std::vector<ListRow> rows = read_list_rows(csv_path);
  std::vector<std::string> genres = options.genres;
  if (genres.empty()) {
    for (const ListRow& r : rows) genres.push_back(r.genre);
    std::sort(genres.begin(), genres.end());
    genres.erase(std::unique(genres.begin(), genres.end()), genres.end());
  }
  check_genres(genres, where);
  std::map<std::string, int32_t> label_of;
  for (size_t g = 0; g < genres.size(); ++g) label_of[genres[g]] = static_cast<int32_t>(g);

  GtzanReport local;
  GtzanReport& rep = report ? *report : local;
  rep = {};
  const fs::path base = fs::path(csv_path).parent_path();
  std::vector<SongFile> files;
  std::map<std::string, std::string> split_of;
  std::set<std::string> genres_listed;
  const bool has_splits = std::all_of(rows.begin(), rows.end(), [](const ListRow& r) { return !r.split.empty(); });
  check(has_splits || std::none_of(rows.begin(), rows.end(), [](const ListRow& r) { return !r.split.empty(); }),
        where, "some rows name a split and others do not: give every row one, or none");
  for (const ListRow& r : rows) {
    auto label = label_of.find(r.genre);
    if (label == label_of.end() || r.split == "test") {
      ++rep.left_out;
      continue;
    }
    genres_listed.insert(r.genre);
    const fs::path path = fs::path(r.path).is_absolute() ? fs::path(r.path) : base / r.path;
    files.push_back({path.string(), r.path, label->second});
    split_of[r.path] = r.split;
  }
  for (const std::string& g : genres)
    check(genres_listed.contains(g), where, "no row of genre \"", g, "\" (the genres listed: ",
          [&] {
            std::string s;
            for (const std::string& n : genres_listed) s += (s.empty() ? "" : ",") + n;
            return s;
          }(),
          ")");
  TrackList list;
  list.dataset = load_song_files(files, genres, options, base / ".timbre-cache", rep, where);
  list.has_splits = has_splits;
  for (const std::string& song : list.dataset.song_names) list.song_splits.push_back(split_of.at(song));
  return list;
}

}  // namespace timbre::data
