// Writing a file so that readers see either the old file or the complete new
// one, never a torn write: the bytes go to a temporary name beside the target,
// are flushed to disk (fsync), and the temporary is renamed over the target.
#pragma once

#include <filesystem>
#include <string_view>

namespace timbre::io {

// Writes `bytes` to `path` atomically; creates the parent directory when missing.
// Throws timbre::Error naming the path when any step fails (the temporary is removed).
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// Makes `path` a hard link to the complete file `existing` (same directory), atomically: a reader sees the old
// `path` or the new one. Where the file system has no hard links, `path` becomes an atomic copy.
void link_file_atomically(const std::filesystem::path& existing, const std::filesystem::path& path);

}  // namespace timbre::io
