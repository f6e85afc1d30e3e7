#include "timbre/data/npy.h"

#include <zlib.h>

#include <cctype>
#include <cmath>

#include "timbre/core/error.h"
#include "timbre/data/tfrecord.h"
#include "timbre/io/atomic_file.h"

namespace timbre::data {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
constexpr size_t kMaxHeaderBytes = 1 << 20;  // numpy's own headers are a few hundred bytes
constexpr int64_t kMaxElements = int64_t{1} << 50;

// ---- the header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
struct HeaderValue {
  enum Kind { text, boolean, tuple } kind = text;
  std::string str;
  bool flag = false;
  std::vector<int64_t> ints;
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& where) : s_(text), where_(where) {}

  std::map<std::string, HeaderValue> parse_dict() {
    std::map<std::string, HeaderValue> out;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = parse_string();
      expect(':');
      out[key] = parse_value();
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      --pos_;
    }
    ++pos_;
    return out;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  [[noreturn]] void bad(const std::string& what) const {
    fail(where_ + ": bad npy header at character " + std::to_string(pos_) + ": " + what + " in \"" +
         std::string(s_) + "\"");
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    const size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  int64_t parse_int() {
    skip_space();
    const size_t start = pos_;
    int64_t v = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      if (v > (int64_t{1} << 56)) bad("dimension too large");
      v = v * 10 + (s_[pos_++] - '0');
    }
    if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 longs
    if (pos_ == start) bad("expected a non-negative integer");
    return v;
  }
  HeaderValue parse_value() {
    skip_space();
    HeaderValue v;
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.str = parse_string();
    } else if (s_.substr(pos_, 4) == "True") {
      v.kind = HeaderValue::boolean;
      v.flag = true;
      pos_ += 4;
    } else if (s_.substr(pos_, 5) == "False") {
      v.kind = HeaderValue::boolean;
      pos_ += 5;
    } else if (c == '(') {
      v.kind = HeaderValue::tuple;
      ++pos_;
      while (true) {
        skip_space();
        if (peek() == ')') break;
        v.ints.push_back(parse_int());
        skip_space();
        if (peek() == ',') ++pos_;
        else if (peek() != ')') bad("expected ',' or ')' in the shape");
      }
      ++pos_;
    } else if (c == '[') {
      bad("structured dtypes are not supported");
    } else {
      bad("unexpected value");
    }
    return v;
  }

  std::string_view s_;
  std::string where_;
  size_t pos_ = 0;
};

NpyDType parse_descr(const std::string& descr, const std::string& where) {
  check(descr.size() >= 3, where, "unsupported dtype '", descr, "'");
  const char order = descr[0];
  const std::string kind = descr.substr(1);
  const bool one_byte = kind == "u1" || kind == "b1";
  check(order == '<' || order == '|' || order == '=' || (order == '>' && one_byte), where, "dtype '", descr,
        "' is big-endian; only little-endian arrays are supported");
  if (kind == "f4") return NpyDType::f32;
  if (kind == "f8") return NpyDType::f64;
  if (kind == "i4") return NpyDType::i32;
  if (kind == "i8") return NpyDType::i64;
  if (kind == "u1") return NpyDType::u8;
  if (kind == "b1") return NpyDType::boolean;
  fail(where + ": unsupported dtype '" + descr + "' (supported: <f4 <f8 <i4 <i8 |u1 |b1)");
}

std::string descr_of(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::f32: return "<f4";
    case NpyDType::f64: return "<f8";
    case NpyDType::i32: return "<i4";
    case NpyDType::i64: return "<i8";
    case NpyDType::u8: return "|u1";
    case NpyDType::boolean: return "|b1";
  }
  return "?";
}

// Calls fn(T{}) with T the C++ type of the npy dtype.
template <class Fn>
void visit_npy(NpyDType dtype, Fn&& fn) {
  switch (dtype) {
    case NpyDType::f32: return fn(float{});
    case NpyDType::f64: return fn(double{});
    case NpyDType::i32: return fn(int32_t{});
    case NpyDType::i64: return fn(int64_t{});
    case NpyDType::u8: return fn(uint8_t{});
    case NpyDType::boolean: return fn(uint8_t{});  // numpy bools are one byte, 0 or 1
  }
}

uint16_t load_u16(const char* p) { return static_cast<uint16_t>(uint8_t(p[0]) | (uint8_t(p[1]) << 8)); }
uint32_t load_u32(const char* p) { return load_u16(p) | (uint32_t{load_u16(p + 2)} << 16); }
uint64_t load_u64(const char* p) { return load_u32(p) | (uint64_t{load_u32(p + 4)} << 32); }
void store(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

size_t npy_dtype_size(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::f32:
    case NpyDType::i32: return 4;
    case NpyDType::f64:
    case NpyDType::i64: return 8;
    case NpyDType::u8:
    case NpyDType::boolean: return 1;
  }
  return 0;
}

std::string npy_dtype_name(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::f32: return "float32";
    case NpyDType::f64: return "float64";
    case NpyDType::i32: return "int32";
    case NpyDType::i64: return "int64";
    case NpyDType::u8: return "uint8";
    case NpyDType::boolean: return "bool";
  }
  return "?";
}

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor NpyArray::to_tensor() const {
  Tensor t = Tensor::empty(Shape(shape), DType::f32);
  float* out = t.data<float>();
  const int64_t n = numel();
  visit_npy(dtype, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
      out[i] = static_cast<float>(v);
    }
  });
  return t;
}

std::vector<int64_t> NpyArray::to_int64(const std::string& where) const {
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  visit_npy(dtype, [&](auto zero) {
    using T = decltype(zero);
    for (size_t i = 0; i < out.size(); ++i) {
      T v;
      std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
      if constexpr (std::is_floating_point_v<T>)
        check(std::isfinite(v) && v == std::floor(v) && std::abs(v) < 9.0e18, where, "value ", v, " at index ", i,
              " is not a whole number");
      out[i] = static_cast<int64_t>(v);
    }
  });
  return out;
}

NpyArray NpyArray::from_tensor(const Tensor& tensor) {
  check(tensor.device().is_cpu(), "NpyArray::from_tensor", "tensor must be on the CPU");
  NpyArray a;
  a.shape = tensor.shape().dims();
  a.dtype = tensor.dtype() == DType::f32 ? NpyDType::f32 : NpyDType::f64;
  const auto* p = static_cast<const uint8_t*>(tensor.raw_data());
  a.bytes.assign(p, p + tensor.bytes());
  return a;
}

NpyArray parse_npy(std::string_view file, const std::string& where) {
  check(file.size() >= kMagicBytes + 4 && file.substr(0, kMagicBytes) == std::string_view(kMagic, kMagicBytes),
        where, "not a .npy file (bad magic)");
  const int major = static_cast<uint8_t>(file[6]);
  check(major >= 1 && major <= 3, where, "unsupported .npy version ", major, ".", static_cast<int>(uint8_t(file[7])));
  const size_t prefix = major == 1 ? 10 : 12;
  check(file.size() >= prefix, where, "truncated .npy header");
  const size_t header_bytes = major == 1 ? load_u16(file.data() + 8) : load_u32(file.data() + 8);
  check(header_bytes <= kMaxHeaderBytes && header_bytes <= file.size() - prefix, where, "header claims ",
        header_bytes, " bytes, file has ", file.size() - prefix, " after the prefix");
  auto dict = HeaderParser(file.substr(prefix, header_bytes), where).parse_dict();
  for (const char* key : {"descr", "fortran_order", "shape"})
    check(dict.count(key), where, "npy header lacks '", key, "'");
  check(dict["descr"].kind == HeaderValue::text, where, "'descr' must be a string");
  check(dict["fortran_order"].kind == HeaderValue::boolean, where, "'fortran_order' must be True or False");
  check(dict["shape"].kind == HeaderValue::tuple, where, "'shape' must be a tuple");
  check(!dict["fortran_order"].flag, where,
        "array is in Fortran order; only C-order arrays are supported (save with np.ascontiguousarray)");

  NpyArray a;
  a.dtype = parse_descr(dict["descr"].str, where);
  a.shape = dict["shape"].ints;
  int64_t n = 1;
  for (int64_t d : a.shape) {
    check(d == 0 || n <= kMaxElements / d, where, "shape is too large");
    n *= d;
  }
  const size_t data_bytes = file.size() - prefix - header_bytes;
  const uint64_t need = static_cast<uint64_t>(n) * npy_dtype_size(a.dtype);
  check(need == data_bytes, where, "shape ", Shape(a.shape), " of ", npy_dtype_name(a.dtype), " needs ", need,
        " data bytes, file has ", data_bytes, need > data_bytes ? " (truncated)" : " (trailing bytes)");
  const auto* p = reinterpret_cast<const uint8_t*>(file.data() + prefix + header_bytes);
  a.bytes.assign(p, p + need);
  return a;
}

std::string serialize_npy(const NpyArray& array) {
  check(array.numel() * static_cast<int64_t>(npy_dtype_size(array.dtype)) == static_cast<int64_t>(array.bytes.size()),
        "serialize_npy", "shape ", Shape(array.shape), " does not match ", array.bytes.size(), " bytes");
  std::string dict = "{'descr': '" + descr_of(array.dtype) + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < array.shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(array.shape[i]);
  dict += array.shape.size() == 1 ? ",), }" : "), }";
  // As numpy does: pad with spaces and end with '\n' so the data starts 64-byte aligned.
  const bool v1 = dict.size() + 11 < 65535;
  const size_t prefix = v1 ? 10 : 12;
  const size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out(kMagic, kMagicBytes);
  out.push_back(static_cast<char>(v1 ? 1 : 2));
  out.push_back('\0');
  store(out, dict.size(), v1 ? 2 : 4);
  out += dict;
  out.append(reinterpret_cast<const char*>(array.bytes.data()), array.bytes.size());
  return out;
}

NpyArray read_npy(const std::string& path) { return parse_npy(read_whole_file(path), path); }

void write_npy(const std::string& path, const NpyArray& array) {
  io::write_file_atomically(path, serialize_npy(array));
}

// ---- .npz: a zip archive read through its central directory.
std::map<std::string, NpyArray> read_npz(const std::string& path) {
  const std::string zip = read_whole_file(path);
  const size_t size = zip.size();
  constexpr size_t kEocdBytes = 22;
  check(size >= kEocdBytes, path, "not a .npz (zip) file: too short");
  // The end-of-central-directory record sits within the last 22 + 65535 (comment) bytes.
  size_t eocd = std::string::npos;
  for (size_t i = size - kEocdBytes + 1; i-- > 0 && size - i <= kEocdBytes + 65535;) {
    if (load_u32(zip.data() + i) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  check(eocd != std::string::npos, path, "not a .npz (zip) file: no end-of-central-directory record");
  uint64_t entries = load_u16(zip.data() + eocd + 10);
  uint64_t cd_size = load_u32(zip.data() + eocd + 12);
  uint64_t cd_offset = load_u32(zip.data() + eocd + 16);
  if (entries == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    // Zip64: a locator just before the record points at the 64-bit end record.
    check(eocd >= 20 && load_u32(zip.data() + eocd - 20) == 0x07064b50, path, "zip64 archive without a locator");
    const uint64_t rec = load_u64(zip.data() + eocd - 20 + 8);
    check(rec <= size - 56 && load_u32(zip.data() + rec) == 0x06064b50, path, "bad zip64 end record");
    entries = load_u64(zip.data() + rec + 32);
    cd_size = load_u64(zip.data() + rec + 40);
    cd_offset = load_u64(zip.data() + rec + 48);
  }
  check(cd_offset <= size && cd_size <= size - cd_offset && entries <= cd_size / 46, path,
        "central directory (", entries, " entries, ", cd_size, " bytes at ", cd_offset, ") lies outside the file");

  std::map<std::string, NpyArray> out;
  size_t pos = cd_offset;
  const size_t cd_end = cd_offset + cd_size;
  for (uint64_t e = 0; e < entries; ++e) {
    check(cd_end - pos >= 46 && load_u32(zip.data() + pos) == 0x02014b50, path, "bad central directory entry ", e);
    const char* c = zip.data() + pos;
    const uint16_t flags = load_u16(c + 8);
    const uint16_t method = load_u16(c + 10);
    const uint32_t crc = load_u32(c + 16);
    uint64_t packed = load_u32(c + 20);
    uint64_t unpacked = load_u32(c + 24);
    const size_t name_len = load_u16(c + 28), extra_len = load_u16(c + 30), comment_len = load_u16(c + 32);
    uint64_t local = load_u32(c + 42);
    check(cd_end - pos - 46 >= name_len + extra_len + comment_len, path, "central directory entry ", e,
          " is truncated");
    const std::string name(c + 46, name_len);
    const std::string where = path + ": member " + name;
    // Zip64 sizes and offset live in extra field 0x0001, in this order, for those marked 0xffffffff.
    for (size_t x = 0; x + 4 <= extra_len;) {
      const char* f = c + 46 + name_len + x;
      const size_t id = load_u16(f), len = load_u16(f + 2);
      check(x + 4 + len <= extra_len, where, "bad extra field");
      if (id == 0x0001) {
        size_t k = 4;
        for (uint64_t* v : {&unpacked, &packed, &local}) {
          if (*v != 0xffffffff) continue;
          check(k + 8 <= len + 4, where, "short zip64 extra field");
          *v = load_u64(f + k);
          k += 8;
        }
      }
      x += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;

    check(!(flags & 1), where, "is encrypted");
    check(method == 0 || method == 8, where, "uses compression method ", method, " (only stored and deflated)");
    check(local <= size && size - local >= 30 && load_u32(zip.data() + local) == 0x04034b50, where,
          "bad local header offset ", local);
    const uint64_t data_at = local + 30 + load_u16(zip.data() + local + 26) + load_u16(zip.data() + local + 28);
    check(data_at <= size && packed <= size - data_at, where, "data (", packed, " bytes at ", data_at,
          ") lies outside the file");
    const char* data = zip.data() + data_at;
    std::string member;
    if (method == 0) {
      check(packed == unpacked, where, "stored member with different sizes");
      member.assign(data, packed);
    } else {
      // Deflate expands at most 1032:1; a bigger claim is corrupt.
      check(unpacked <= packed * 1032 + 1024, where, "claims ", unpacked, " bytes from ", packed, " compressed");
      member.resize(unpacked);
      z_stream z{};
      check(inflateInit2(&z, -15) == Z_OK, where, "cannot start zlib");
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
      z.avail_in = static_cast<uInt>(packed);
      z.next_out = reinterpret_cast<Bytef*>(member.data());
      z.avail_out = static_cast<uInt>(unpacked);
      const int rc = inflate(&z, Z_FINISH);
      const uLong got = z.total_out;
      inflateEnd(&z);
      check(rc == Z_STREAM_END && got == unpacked, where, "corrupt deflate data (", got, " of ", unpacked,
            " bytes inflated)");
    }
    check(::crc32(0, reinterpret_cast<const Bytef*>(member.data()), static_cast<uInt>(member.size())) == crc, where,
          "CRC-32 mismatch (corrupt archive)");
    std::string key = name;
    if (key.size() > 4 && key.ends_with(".npy")) key.resize(key.size() - 4);
    out[key] = parse_npy(member, where);
  }
  return out;
}

void write_npz(const std::string& path, const std::map<std::string, NpyArray>& arrays) {
  std::string zip, central;
  constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: no clock in the output
  for (const auto& [key, array] : arrays) {
    const std::string name = key + ".npy";
    const std::string member = serialize_npy(array);
    check(member.size() < 0xffffffffu && zip.size() < 0xffffffffu, "write_npz " + path,
          "members over 4 GiB need zip64, which is not written");
    const uint32_t crc = ::crc32(0, reinterpret_cast<const Bytef*>(member.data()), static_cast<uInt>(member.size()));
    const uint64_t local = zip.size();
    auto common = [&](std::string& out) {
      store(out, 20, 2);  // version needed
      store(out, 0, 2);   // flags
      store(out, 0, 2);   // stored
      store(out, 0, 2);   // time
      store(out, kDosDate, 2);
      store(out, crc, 4);
      store(out, member.size(), 4);
      store(out, member.size(), 4);
      store(out, name.size(), 2);
      store(out, 0, 2);  // extra
    };
    store(zip, 0x04034b50, 4);
    common(zip);
    zip += name;
    zip += member;
    store(central, 0x02014b50, 4);
    store(central, 20, 2);  // version made by
    common(central);
    store(central, 0, 2);  // comment
    store(central, 0, 2);  // disk
    store(central, 0, 2);  // internal attributes
    store(central, 0, 4);  // external attributes
    store(central, local, 4);
    central += name;
  }
  const uint64_t cd_offset = zip.size();
  zip += central;
  store(zip, 0x06054b50, 4);
  store(zip, 0, 4);  // disk numbers
  store(zip, arrays.size(), 2);
  store(zip, arrays.size(), 2);
  store(zip, central.size(), 4);
  store(zip, cd_offset, 4);
  store(zip, 0, 2);  // comment
  io::write_file_atomically(path, zip);
}

}  // namespace timbre::data
