#include "timbre/io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "timbre/data/crc32c.h"
#include "timbre/io/atomic_file.h"

namespace timbre::io {

namespace {
using nlohmann::json;

constexpr uint64_t max_header_bytes = 100'000'000;  // the format's own limit

const char* dtype_tag(DType t) { return t == DType::f32 ? "F32" : "F64"; }

// The metadata entry holding a CRC-32C per tensor, and one of the other metadata under "__metadata__".
const std::string checksums_key = "timbre.crc32c";

std::string crc_text(const void* data, size_t size) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", data::crc32c(data, size));
  return text;
}

std::string metadata_crc(const Metadata& metadata) {
  const std::string text = json(metadata).dump();
  return crc_text(text.data(), text.size());
}

// Verifies `file`'s tensors and metadata against the checksums entry, when it has one, and removes that entry.
void verify_checksums(SafetensorsFile& file, const std::string& where) {
  auto it = file.metadata.find(checksums_key);
  if (it == file.metadata.end()) return;  // written before checksums, or by another writer
  json sums;
  try {
    sums = json::parse(it->second);
  } catch (const json::exception&) {
    fail(where + ": metadata \"" + checksums_key + "\" is not valid JSON (the file is corrupt)");
  }
  file.metadata.erase(it);
  auto stored = [&](const std::string& name) {
    check(sums.is_object() && sums.contains(name) && sums[name].is_string(), where, "has no checksum for \"", name,
          "\" (the file is corrupt)");
    return sums[name].get<std::string>();
  };
  check(stored("__metadata__") == metadata_crc(file.metadata), where,
        "its metadata fails the CRC-32C checksum (the file is corrupt)");
  for (const auto& [name, t] : file.tensors)
    check(stored(name) == crc_text(t.raw_data(), t.bytes()), where, "tensor \"", name,
          "\" fails its CRC-32C checksum (the file is corrupt: its bytes changed after it was written)");
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void append_u64_le(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

Entry parse_entry(const std::string& name, const json& spec, uint64_t data_bytes, const std::string& where) {
  const std::string what = where + ": tensor \"" + name + "\"";
  check(spec.is_object(), what, "expected an object {dtype, shape, data_offsets}, got ", spec.dump());
  check(spec.contains("dtype") && spec["dtype"].is_string(), what, "missing string field \"dtype\"");
  const std::string tag = spec["dtype"].get<std::string>();
  check(tag == "F32" || tag == "F64", what, "dtype ", tag, " is not supported (timbre reads F32 and F64)");
  const DType dtype = tag == "F32" ? DType::f32 : DType::f64;

  check(spec.contains("shape") && spec["shape"].is_array(), what, "missing array field \"shape\"");
  std::vector<int64_t> dims;
  uint64_t numel = 1;
  for (const json& d : spec["shape"]) {
    check(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0), what,
          "shape entries must be non-negative integers, got ", spec["shape"].dump());
    const uint64_t extent = d.get<uint64_t>();
    // Bound every extent by the data size so that the product cannot overflow.
    check(extent <= data_bytes || numel == 0, what, "shape ", spec["shape"].dump(), " exceeds the ", data_bytes,
          " data bytes");
    numel *= extent;
    check(numel <= data_bytes, what, "shape ", spec["shape"].dump(), " exceeds the ", data_bytes, " data bytes");
    dims.push_back(static_cast<int64_t>(extent));
  }

  check(spec.contains("data_offsets") && spec["data_offsets"].is_array() && spec["data_offsets"].size() == 2 &&
            spec["data_offsets"][0].is_number_unsigned() && spec["data_offsets"][1].is_number_unsigned(),
        what, "\"data_offsets\" must be [begin, end] with non-negative integers");
  const uint64_t begin = spec["data_offsets"][0].get<uint64_t>(), end = spec["data_offsets"][1].get<uint64_t>();
  check(begin <= end && end <= data_bytes, what, "data_offsets [", begin, ", ", end, "] outside the ", data_bytes,
        " data bytes");
  check(end - begin == numel * dtype_size(dtype), what, "data_offsets [", begin, ", ", end, "] hold ", end - begin,
        " bytes, but ", tag, " shape ", spec["shape"].dump(), " needs ", numel * dtype_size(dtype));
  return {name, dtype, Shape(std::move(dims)), begin, end};
}
}  // namespace

std::string encode_safetensors(const TensorMap& tensors, const Metadata& metadata) {
  check(!metadata.contains(checksums_key), "encode_safetensors", "metadata \"", checksums_key, "\" is reserved");
  json header = json::object();
  json sums = {{"__metadata__", metadata_crc(metadata)}};
  std::vector<Tensor> host;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    check(name != "__metadata__", "encode_safetensors", "\"__metadata__\" is reserved and cannot name a tensor");
    check(t.defined(), "encode_safetensors", "tensor \"", name, "\" is undefined");
    host.push_back(t.device().is_cpu() ? t : t.to(Device::cpu()));
    const uint64_t bytes = t.bytes();
    header[name] = {{"dtype", dtype_tag(t.dtype())}, {"shape", t.shape().dims()}, {"data_offsets", {offset, offset + bytes}}};
    sums[name] = crc_text(host.back().raw_data(), bytes);
    offset += bytes;
  }
  Metadata with_checksums = metadata;
  with_checksums[checksums_key] = sums.dump();
  header["__metadata__"] = with_checksums;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned, as the reference writer does

  std::string out;
  out.reserve(8 + text.size() + offset);
  append_u64_le(out, text.size());
  out += text;
  for (const Tensor& t : host) out.append(static_cast<const char*>(t.raw_data()), t.bytes());
  return out;
}

SafetensorsFile decode_safetensors(std::string_view bytes, const std::string& source) {
  const std::string where = "safetensors " + source;
  check(bytes.size() >= 8, where, "file of ", bytes.size(), " bytes is too short for the 8-byte header length");
  const uint64_t header_bytes = read_u64_le(bytes.data());
  check(header_bytes <= max_header_bytes, where, "header length ", header_bytes, " exceeds the 100 MB limit");
  check(header_bytes <= bytes.size() - 8, where, "header length ", header_bytes, " runs past the end of the ",
        bytes.size(), "-byte file");
  const std::string_view header_text = bytes.substr(8, header_bytes);
  const uint64_t data_bytes = bytes.size() - 8 - header_bytes;

  json header;
  try {
    header = json::parse(header_text);
  } catch (const json::exception& e) {
    fail(where + ": header is not valid JSON: " + e.what());
  }
  check(header.is_object(), where, "header must be a JSON object");

  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [name, spec] : header.items()) {
    if (name == "__metadata__") {
      check(spec.is_object(), where, "\"__metadata__\" must be an object of strings");
      for (const auto& [key, value] : spec.items()) {
        check(value.is_string(), where, "metadata \"", key, "\" must be a string, got ", value.dump());
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(name, spec, data_bytes, where));
  }

  // The tensors must tile the data exactly: no gaps, no overlaps, nothing left over.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  for (const Entry* e : by_offset) {
    check(e->begin == expected, where, "tensor \"", e->name, "\" starts at ", e->begin, " but the previous data ends at ",
          expected, e->begin < expected ? " (overlapping tensors)" : " (a gap)");
    expected = e->end;
  }
  check(expected == data_bytes, where, "tensors cover ", expected, " data bytes but the file holds ", data_bytes);

  const char* data = bytes.data() + 8 + header_bytes;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.end > e.begin) std::memcpy(t.raw_data(), data + e.begin, e.end - e.begin);
    file.tensors.emplace(e.name, std::move(t));
  }
  verify_checksums(file, where);
  return file;
}

void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const Metadata& metadata) {
  write_file_atomically(path, encode_safetensors(tensors, metadata));
}

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), "safetensors " + path.string(), "cannot open file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check(!in.bad(), "safetensors " + path.string(), "read error");
  return decode_safetensors(bytes, path.string());
}

}  // namespace timbre::io
