#include "timbre/data/tfrecord.h"

#include <snappy.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

#include "timbre/core/error.h"
#include "timbre/data/crc32c.h"

namespace timbre::data {

namespace {

constexpr size_t kHeaderBytes = 12;  // u64 length + u32 masked crc
constexpr size_t kFooterBytes = 4;   // u32 masked crc of the data
// TF's SnappyInputStream reads a block into a buffer of at most 256 KiB by default; stay well under it.
constexpr size_t kSnappyBlockInput = 64 * 1024;

uint32_t load_u32_le(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t load_u64_le(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
void store_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool header_crc_matches(std::string_view stream) {
  return stream.size() >= kHeaderBytes &&
         crc32c_mask(crc32c(stream.data(), 8)) == load_u32_le(stream.data() + 8);
}

std::string gunzip(std::string_view file, const std::string& where) {
  z_stream z{};
  check(inflateInit2(&z, 15 + 16) == Z_OK, where, "cannot start zlib");
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(file.data()));
  z.avail_in = static_cast<uInt>(std::min<size_t>(file.size(), UINT32_MAX));
  size_t fed = z.avail_in;
  int rc = Z_OK;
  // Output grows only as inflate produces bytes, so memory follows the real data, not a header's claim.
  while (true) {
    if (out.size() - z.total_out < 64 * 1024 || out.empty()) out.resize(std::max<size_t>(out.size() * 2, 256 * 1024));
    const size_t produced = z.total_out;
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - produced, UINT32_MAX));
    rc = inflate(&z, Z_NO_FLUSH);
    if (z.avail_in == 0 && fed < file.size()) {
      const size_t more = std::min<size_t>(file.size() - fed, UINT32_MAX);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(file.data() + fed));
      z.avail_in = static_cast<uInt>(more);
      fed += more;
    }
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are one stream to gzip readers; continue with the next member.
      if (z.avail_in == 0) break;
      const uLong total = z.total_out;
      check(inflateReset(&z) == Z_OK, where, "zlib reset failed");
      z.total_out = total;
      continue;
    }
    // With output room always left, "no progress" means the input ran out mid-stream.
    if (rc == Z_BUF_ERROR) {
      const std::string produced_text = std::to_string(z.total_out);
      inflateEnd(&z);
      fail(where + ": gzip stream is truncated (after " + produced_text + " output bytes)");
    }
    if (rc != Z_OK) {
      const std::string msg = z.msg ? z.msg : "error " + std::to_string(rc);
      inflateEnd(&z);
      fail(where + ": corrupt gzip data: " + msg);
    }
  }
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

std::string gzip(std::string_view stream, const std::string& where) {
  check(stream.size() < UINT32_MAX, where, "a shard over 4 GiB cannot be gzip-compressed in one call; use more shards");
  z_stream z{};
  check(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK, where,
        "cannot start zlib");
  std::string out(deflateBound(&z, stream.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stream.data()));
  z.avail_in = static_cast<uInt>(stream.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  check(rc == Z_STREAM_END, where, "gzip compression failed (", rc, ")");
  return out;
}

// Undoes TF's snappy block framing, checking each block's lengths before allocating.
std::string unsnappy(std::string_view file, const std::string& where) {
  std::string out;
  size_t pos = 0;
  int block = 0;
  while (pos < file.size()) {
    check(file.size() - pos >= 4, where, "snappy block ", block, " at byte ", pos, ": truncated length");
    const auto* b = reinterpret_cast<const unsigned char*>(file.data() + pos);
    const size_t length = (size_t{b[0]} << 24) | (size_t{b[1]} << 16) | (size_t{b[2]} << 8) | b[3];
    pos += 4;
    check(length <= file.size() - pos, where, "snappy block ", block, " claims ", length, " bytes, only ",
          file.size() - pos, " left");
    const char* data = file.data() + pos;
    size_t expanded = 0;
    check(snappy::GetUncompressedLength(data, length, &expanded), where, "snappy block ", block,
          " has a corrupt header");
    // Snappy expands at most ~22x (a 3-byte copy of 64 bytes); a larger claim is corrupt.
    check(expanded <= 24 * length + 64, where, "snappy block ", block, " claims ", expanded, " bytes from ", length);
    const size_t old = out.size();
    out.resize(old + expanded);
    check(snappy::RawUncompress(data, length, out.data() + old), where, "snappy block ", block, " is corrupt");
    pos += length;
    ++block;
  }
  return out;
}

std::string snappy_blocks(std::string_view stream) {
  std::string out;
  for (size_t pos = 0; pos < stream.size(); pos += kSnappyBlockInput) {
    std::string block;
    snappy::Compress(stream.data() + pos, std::min(kSnappyBlockInput, stream.size() - pos), &block);
    const size_t n = block.size();
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out += block;
  }
  return out;
}

bool looks_like_snappy(std::string_view file) {
  if (file.size() < 5) return false;
  const auto* b = reinterpret_cast<const unsigned char*>(file.data());
  const size_t length = (size_t{b[0]} << 24) | (size_t{b[1]} << 16) | (size_t{b[2]} << 8) | b[3];
  return length <= file.size() - 4 && snappy::IsValidCompressedBuffer(file.data() + 4, length);
}

}  // namespace

Compression parse_compression(const std::string& name, const std::string& where) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.empty() || lower == "none") return Compression::none;
  if (lower == "gzip") return Compression::gzip;
  if (lower == "snappy") return Compression::snappy;
  fail(where + ": unknown compression '" + name + "' (expected none, gzip or snappy)");
}

std::string compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::snappy: return "snappy";
  }
  return "?";
}

Compression detect_compression(std::string_view file, const std::string& where) {
  if (file.size() >= 2 && static_cast<unsigned char>(file[0]) == 0x1f && static_cast<unsigned char>(file[1]) == 0x8b)
    return Compression::gzip;
  if (file.empty() || header_crc_matches(file)) return Compression::none;
  if (looks_like_snappy(file)) return Compression::snappy;
  fail(where + ": not a TFRecord file (no gzip magic, no valid record header, no snappy block)");
}

std::string decompress(std::string_view file, Compression compression, const std::string& where) {
  switch (compression) {
    case Compression::none: return std::string(file);
    case Compression::gzip: return gunzip(file, where);
    case Compression::snappy: return unsnappy(file, where);
  }
  fail(where + ": bad compression");
}

std::string compress(std::string_view stream, Compression compression, const std::string& where) {
  switch (compression) {
    case Compression::none: return std::string(stream);
    case Compression::gzip: return gzip(stream, where);
    case Compression::snappy: return snappy_blocks(stream);
  }
  fail(where + ": bad compression");
}

std::vector<std::string_view> split_records(std::string_view stream, const std::string& where) {
  std::vector<std::string_view> records;
  size_t pos = 0;
  while (pos < stream.size()) {
    const size_t index = records.size();
    const size_t left = stream.size() - pos;
    check(left >= kHeaderBytes, where, "record ", index, " at byte ", pos, ": truncated header (", left,
          " bytes left, need 12)");
    const char* p = stream.data() + pos;
    check(crc32c_mask(crc32c(p, 8)) == load_u32_le(p + 8), where, "record ", index, " at byte ", pos,
          ": length CRC mismatch (corrupt file?)");
    const uint64_t length = load_u64_le(p);
    check(length <= left - kHeaderBytes && left - kHeaderBytes - length >= kFooterBytes, where, "record ", index,
          " at byte ", pos, ": truncated (claims ", length, " bytes, ", left - kHeaderBytes, " left)");
    const char* data = p + kHeaderBytes;
    check(crc32c_mask(crc32c(data, length)) == load_u32_le(data + length), where, "record ", index, " at byte ",
          pos, ": data CRC mismatch (corrupt file?)");
    records.emplace_back(data, length);
    pos += kHeaderBytes + length + kFooterBytes;
  }
  return records;
}

void append_record(std::string& stream, std::string_view record) {
  std::string header;
  store_le(header, record.size(), 8);
  store_le(header, crc32c_mask(crc32c(header.data(), 8)), 4);
  stream += header;
  stream.append(record);
  store_le(stream, crc32c_mask(crc32c(record.data(), record.size())), 4);
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  check(in.good(), path, "cannot open file");
  const std::streamoff size = in.tellg();
  check(size >= 0, path, "cannot determine file size");
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  in.read(bytes.data(), size);
  check(in.gcount() == size, path, "read ", in.gcount(), " of ", size, " bytes");
  return bytes;
}

}  // namespace timbre::data
