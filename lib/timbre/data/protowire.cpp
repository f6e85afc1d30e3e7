#include "timbre/data/protowire.h"

#include <cstring>

#include "timbre/core/error.h"

namespace timbre::data::proto {

namespace {
// Decodes the varint at data[pos], advancing pos; throws on truncation or overlong encodings.
uint64_t decode_varint(std::string_view data, size_t& pos, const std::string& where) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    check(pos < data.size(), where, "truncated varint at byte ", pos);
    const auto byte = static_cast<uint8_t>(data[pos++]);
    value |= uint64_t{byte & 0x7fu} << shift;
    if (!(byte & 0x80)) return value;
  }
  fail(where + ": varint longer than 10 bytes at byte " + std::to_string(pos));
}
}  // namespace

uint64_t Reader::read_varint() { return decode_varint(data_, pos_, where_); }

bool Reader::next(Field& field) {
  if (pos_ >= data_.size()) return false;
  const size_t start = pos_;
  const uint64_t key = read_varint();
  const uint64_t number = key >> 3;
  check(number >= 1 && number <= 0x1fffffff, where_, "bad field number ", number, " at byte ", start);
  field.number = static_cast<uint32_t>(number);
  field.bytes = {};
  field.value = 0;
  const auto left = [&] { return data_.size() - pos_; };
  switch (key & 7) {
    case 0:
      field.type = WireType::varint;
      field.value = read_varint();
      break;
    case 1:
      field.type = WireType::fixed64;
      check(left() >= 8, where_, "truncated fixed64 field ", number, " at byte ", start);
      std::memcpy(&field.value, data_.data() + pos_, 8);
      pos_ += 8;
      break;
    case 2: {
      field.type = WireType::bytes;
      const uint64_t length = read_varint();
      check(length <= left(), where_, "field ", number, " at byte ", start, " claims ", length, " bytes, only ",
            left(), " left");
      field.bytes = data_.substr(pos_, static_cast<size_t>(length));
      pos_ += static_cast<size_t>(length);
      break;
    }
    case 5: {
      field.type = WireType::fixed32;
      check(left() >= 4, where_, "truncated fixed32 field ", number, " at byte ", start);
      uint32_t v;
      std::memcpy(&v, data_.data() + pos_, 4);
      field.value = v;
      pos_ += 4;
      break;
    }
    default:
      fail(where_ + ": unsupported wire type " + std::to_string(key & 7) + " for field " + std::to_string(number) +
           " at byte " + std::to_string(start));
  }
  return true;
}

void expect_type(const Field& field, WireType type, const std::string& where, const char* what) {
  check(field.type == type, where, what, " (field ", field.number, ") has wire type ",
        static_cast<int>(field.type), ", expected ", static_cast<int>(type));
}

void append_varints(const Field& field, std::vector<uint64_t>& out, const std::string& where) {
  if (field.type == WireType::varint) {
    out.push_back(field.value);
    return;
  }
  expect_type(field, WireType::bytes, where, "packed varints");
  size_t pos = 0;
  while (pos < field.bytes.size()) out.push_back(decode_varint(field.bytes, pos, where));
}

namespace {
template <class T, WireType kType>
void append_fixed(const Field& field, std::vector<T>& out, const std::string& where) {
  if (field.type == kType) {
    out.push_back(static_cast<T>(field.value));
    return;
  }
  expect_type(field, WireType::bytes, where, "packed fixed-width values");
  check(field.bytes.size() % sizeof(T) == 0, where, "packed field ", field.number, " holds ", field.bytes.size(),
        " bytes, not a multiple of ", sizeof(T));
  const size_t n = field.bytes.size() / sizeof(T);
  if (n == 0) return;  // memcpy into an empty vector's null data() is undefined, even for 0 bytes
  const size_t old = out.size();
  out.resize(old + n);
  std::memcpy(out.data() + old, field.bytes.data(), field.bytes.size());
}
}  // namespace

void append_fixed32(const Field& field, std::vector<uint32_t>& out, const std::string& where) {
  append_fixed<uint32_t, WireType::fixed32>(field, out, where);
}
void append_fixed64(const Field& field, std::vector<uint64_t>& out, const std::string& where) {
  append_fixed<uint64_t, WireType::fixed64>(field, out, where);
}

void Writer::raw_varint(uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void Writer::varint(uint32_t number, uint64_t value) {
  tag(number, WireType::varint);
  raw_varint(value);
}

void Writer::bytes(uint32_t number, std::string_view payload) {
  tag(number, WireType::bytes);
  raw_varint(payload.size());
  out_.append(payload);
}

void Writer::packed_varints(uint32_t number, const std::vector<uint64_t>& values) {
  Writer body;
  for (uint64_t v : values) body.raw_varint(v);
  bytes(number, body.str());
}

void Writer::fixed32(uint32_t number, uint32_t bits) {
  tag(number, WireType::fixed32);
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

void Writer::fixed64(uint32_t number, uint64_t bits) {
  tag(number, WireType::fixed64);
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

}  // namespace timbre::data::proto
