// TFRecord files: a sequence of records, each framed as
//   u64 length (LE) | u32 masked crc32c(length bytes) | data | u32 masked crc32c(data),
// the whole file optionally compressed: GZIP (one gzip stream) or SNAPPY in
// TensorFlow's block framing (each block: u32 big-endian compressed length,
// then a raw snappy block; TF's SnappyOutputBuffer / SnappyInputStream).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace timbre::data {

enum class Compression { none, gzip, snappy };

// "none", "gzip" or "snappy" (case-insensitive; "" means none) to a Compression.
Compression parse_compression(const std::string& name, const std::string& where);
std::string compression_name(Compression c);

// Guesses how a whole TFRecord file is compressed: gzip by its 1f 8b magic,
// none when the first record header's CRC matches, snappy when the first
// block decodes as snappy. Throws when none fits.
Compression detect_compression(std::string_view file, const std::string& where);

// The framed record stream inside `file`. `where` names the file in errors.
std::string decompress(std::string_view file, Compression compression, const std::string& where);
std::string compress(std::string_view stream, Compression compression, const std::string& where);

// The records of an uncompressed stream, as views into it; every length and
// both CRCs are checked.
std::vector<std::string_view> split_records(std::string_view stream, const std::string& where);
// Appends one framed record to `stream`.
void append_record(std::string& stream, std::string_view record);

// The whole contents of a file; throws naming it when it cannot be read.
std::string read_whole_file(const std::string& path);

}  // namespace timbre::data
