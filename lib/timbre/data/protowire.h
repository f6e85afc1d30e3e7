// A tiny protocol-buffers wire-format reader and writer: enough to read and
// write the few TensorFlow messages a tf.data save directory holds
// (StructuredValue, TensorProto, SnapshotMetadataRecord) without libprotobuf.
// The reader checks every length against the bytes left, so a corrupt or
// hostile message raises timbre::Error instead of reading out of bounds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace timbre::data::proto {

enum class WireType : uint8_t { varint = 0, fixed64 = 1, bytes = 2, fixed32 = 5 };

struct Field {
  uint32_t number = 0;
  WireType type = WireType::varint;
  uint64_t value = 0;      // varint, fixed32 or fixed64 payload
  std::string_view bytes;  // length-delimited payload (a view into the message)
};

class Reader {
 public:
  // `where` names the message in errors, e.g. "dir/dataset_spec.pb: TensorShapeProto".
  Reader(std::string_view message, std::string where) : data_(message), where_(std::move(where)) {}

  // Reads the next field into `field`; false at the end of the message.
  bool next(Field& field);
  const std::string& where() const { return where_; }

 private:
  uint64_t read_varint();
  std::string_view data_;
  size_t pos_ = 0;
  std::string where_;
};

// Checks that `field` has wire type `type` (naming `what` otherwise).
void expect_type(const Field& field, WireType type, const std::string& where, const char* what);

// Repeated scalar fields arrive either packed (one length-delimited field) or
// one field per value; these append either form to `out`.
void append_varints(const Field& field, std::vector<uint64_t>& out, const std::string& where);
void append_fixed32(const Field& field, std::vector<uint32_t>& out, const std::string& where);
void append_fixed64(const Field& field, std::vector<uint64_t>& out, const std::string& where);

class Writer {
 public:
  void varint(uint32_t number, uint64_t value);
  void bytes(uint32_t number, std::string_view payload);
  void packed_varints(uint32_t number, const std::vector<uint64_t>& values);
  void fixed32(uint32_t number, uint32_t bits);  // float fields: std::bit_cast<uint32_t>(value)
  void fixed64(uint32_t number, uint64_t bits);  // double fields
  const std::string& str() const { return out_; }

 private:
  void raw_varint(uint64_t value);
  void tag(uint32_t number, WireType type) { raw_varint((uint64_t{number} << 3) | static_cast<uint8_t>(type)); }
  std::string out_;
};

}  // namespace timbre::data::proto
