// safetensors files (the format of Hugging Face's safetensors): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the
// tensors' bytes, which the offsets (relative to the data start) tile exactly.
// timbre reads and writes F32 and F64 tensors; every other dtype, and every
// inconsistent header, is rejected with a timbre::Error naming the file.
// timbre's files carry a CRC-32C of every tensor and of the other metadata in
// the metadata entry "timbre.crc32c"; a file that has it is verified on
// reading (a mismatch names the tensor), and the entry is not returned.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "timbre/core/tensor.h"

namespace timbre::io {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  TensorMap tensors;  // CPU tensors
  Metadata metadata;
};

// The file's bytes; tensors may live on any device (they are copied to the host).
std::string encode_safetensors(const TensorMap& tensors, const Metadata& metadata = {});
// Parses and validates a whole file held in memory; `source` names it in errors.
SafetensorsFile decode_safetensors(std::string_view bytes, const std::string& source = "safetensors");

// Writes atomically (temporary file, fsync, rename).
void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const Metadata& metadata = {});
SafetensorsFile load_safetensors(const std::filesystem::path& path);

}  // namespace timbre::io
