// .npy / .npz: numpy-written fixtures (tools/make_npy_fixtures.py), round trips, and bad files.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "data_test_support.h"
#include "timbre/core/error.h"
#include "timbre/data/npy.h"
#include "timbre/data/tfrecord.h"

using namespace timbre;
using namespace timbre::data;
using timbre::testing::expect_error;
using timbre::testing::ScratchDir;

namespace {
const std::string kDir = std::string(TIMBRE_FIXTURES) + "/npy/";

template <class T>
std::vector<T> values_of(const NpyArray& a) {
  REQUIRE(a.dtype == npy_dtype_of<T>());
  std::vector<T> v(static_cast<size_t>(a.numel()));
  std::memcpy(v.data(), a.bytes.data(), a.bytes.size());
  return v;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("npy fixtures written by numpy", "[npy]") {
  NpyArray f4 = read_npy(kDir + "f4_2x3.npy");
  CHECK(f4.shape == std::vector<int64_t>{2, 3});
  CHECK(values_of<float>(f4) == std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1, 1.25f});
  Tensor t = f4.to_tensor();
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.to_vector<float>()[5] == 1.25f);

  CHECK(values_of<double>(read_npy(kDir + "f8_4.npy")) == std::vector<double>{-1.5, -0.5, 0.5, 1.5});
  NpyArray i4 = read_npy(kDir + "i4_3x2.npy");
  CHECK(i4.shape == std::vector<int64_t>{3, 2});
  CHECK(values_of<int32_t>(i4) == std::vector<int32_t>{-3, -2, -1, 0, 1, 2});
  CHECK(read_npy(kDir + "i8_5.npy").to_int64() ==
        std::vector<int64_t>{0, 1000000000000, 2000000000000, 3000000000000, 4000000000000});
  NpyArray u1 = read_npy(kDir + "u1_2x2x2.npy");
  CHECK(u1.shape == std::vector<int64_t>{2, 2, 2});
  CHECK(values_of<uint8_t>(u1) == std::vector<uint8_t>{0, 30, 60, 90, 120, 150, 180, 210});
  NpyArray b = read_npy(kDir + "bool_4.npy");
  CHECK(b.dtype == NpyDType::boolean);
  CHECK(b.to_int64() == std::vector<int64_t>{1, 0, 0, 1});
  NpyArray s = read_npy(kDir + "scalar_f4.npy");
  CHECK(s.shape.empty());
  CHECK(values_of<float>(s) == std::vector<float>{2.5f});
  NpyArray e = read_npy(kDir + "empty_f4.npy");
  CHECK(e.shape == std::vector<int64_t>{0, 3});
  CHECK(e.bytes.empty());
  for (const char* name : {"v2_f4.npy", "v3_f4.npy"}) {
    INFO(name);
    CHECK(values_of<float>(read_npy(kDir + name)) == std::vector<float>{1, 2, 3});
  }
}

TEST_CASE("npz fixtures: stored and deflated members", "[npy]") {
  auto stored = read_npz(kDir + "stored.npz");
  REQUIRE(stored.size() == 2);
  CHECK(values_of<float>(stored.at("a")) == std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1, 1.25f});
  CHECK(stored.at("b").to_int64()[4] == 4000000000000);

  auto deflated = read_npz(kDir + "deflated.npz");
  REQUIRE(deflated.size() == 2);
  const NpyArray& p = deflated.at("patches");
  CHECK(p.shape == std::vector<int64_t>{4, 8, 8, 1});
  const auto pv = values_of<float>(p);
  for (size_t i = 0; i < pv.size(); ++i) REQUIRE(pv[i] == static_cast<float>(i) / 256.0f);
  CHECK(deflated.at("labels").to_int64() == std::vector<int64_t>{3, 1, 4, 1});
}

TEST_CASE("npy and npz round trip", "[npy]") {
  ScratchDir dir("npy-roundtrip");
  std::map<std::string, NpyArray> arrays;
  arrays["f32"] = NpyArray::from_values<float>({2, 2}, {1.5f, -2, 3, 4});
  arrays["f64"] = NpyArray::from_values<double>({3}, {0.1, 0.2, 0.3});
  arrays["i32"] = NpyArray::from_values<int32_t>({1}, {-7});
  arrays["i64"] = NpyArray::from_values<int64_t>({}, {int64_t{1} << 40});
  arrays["u8"] = NpyArray::from_values<uint8_t>({2}, {0, 255});
  arrays["bool"] = NpyArray::from_values<bool>({3}, {true, false, true});
  arrays["empty"] = NpyArray::from_values<float>({0, 5}, {});
  arrays["tensor"] = NpyArray::from_tensor(Tensor::from<float>({2, 1, 3}, {1, 2, 3, 4, 5, 6}));
  for (const auto& [name, a] : arrays) {
    INFO(name);
    write_npy(dir / (name + ".npy"), a);
    NpyArray back = read_npy(dir / (name + ".npy"));
    CHECK(back.shape == a.shape);
    CHECK(back.dtype == a.dtype);
    CHECK(back.bytes == a.bytes);
    // numpy aligns the data to 64 bytes; so do we.
    CHECK((read_whole_file(dir / (name + ".npy")).size() - a.bytes.size()) % 64 == 0);
  }
  write_npz(dir / "all.npz", arrays);
  auto back = read_npz(dir / "all.npz");
  REQUIRE(back.size() == arrays.size());
  for (const auto& [name, a] : arrays) {
    INFO(name);
    CHECK(back.at(name).shape == a.shape);
    CHECK(back.at(name).bytes == a.bytes);
  }
  CHECK(arrays.at("tensor").to_tensor().to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("npy bad files raise errors naming the file and the problem", "[npy]") {
  ScratchDir dir("npy-bad");
  const std::string good = read_whole_file(kDir + "f4_2x3.npy");

  write_bytes(dir / "magic.npy", "PK\x03\x04 not numpy at all");
  expect_error([&] { read_npy(dir / "magic.npy"); }, {"magic.npy", "bad magic"});

  write_bytes(dir / "truncated.npy", good.substr(0, good.size() - 5));
  expect_error([&] { read_npy(dir / "truncated.npy"); }, {"truncated.npy", "truncated"});

  write_bytes(dir / "trailing.npy", good + "xyz");
  expect_error([&] { read_npy(dir / "trailing.npy"); }, {"trailing.npy", "trailing"});

  expect_error([&] { read_npy(kDir + "fortran_f4.npy"); }, {"fortran_f4.npy", "Fortran order"});
  expect_error([&] { read_npy(kDir + "big_endian_f4.npy"); }, {"big_endian_f4.npy", "big-endian"});
  expect_error([&] { read_npy(dir / "missing.npy"); }, {"missing.npy", "cannot open"});

  // Header damage: a header length past the end, a missing key, an unsupported dtype, a garbled dict.
  auto with_header = [&](const std::string& dict, const std::string& data) {
    std::string h = dict + "\n";
    std::string out = std::string("\x93NUMPY\x01\x00", 8);
    out.push_back(static_cast<char>(h.size() & 0xff));
    out.push_back(static_cast<char>(h.size() >> 8));
    return out + h + data;
  };
  std::string long_header = good;
  long_header[8] = '\xff';
  long_header[9] = '\xff';
  write_bytes(dir / "hlen.npy", long_header);
  expect_error([&] { read_npy(dir / "hlen.npy"); }, {"hlen.npy", "header claims"});
  write_bytes(dir / "nokey.npy", with_header("{'descr': '<f4', 'shape': (1,), }", "abcd"));
  expect_error([&] { read_npy(dir / "nokey.npy"); }, {"nokey.npy", "fortran_order"});
  write_bytes(dir / "dtype.npy", with_header("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "12345678"));
  expect_error([&] { read_npy(dir / "dtype.npy"); }, {"dtype.npy", "unsupported dtype '<c8'"});
  write_bytes(dir / "garbled.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", "abcd"));
  expect_error([&] { read_npy(dir / "garbled.npy"); }, {"garbled.npy", "bad npy header"});
  // A shape claiming a terabyte from a few bytes is refused before any allocation.
  write_bytes(dir / "huge.npy",
              with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", "abcd"));
  expect_error([&] { read_npy(dir / "huge.npy"); }, {"huge.npy", "needs 4000000000000 data bytes"});
  write_bytes(dir / "overflow.npy",
              with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", ""));
  expect_error([&] { read_npy(dir / "overflow.npy"); }, {"overflow.npy", "too large"});
}

TEST_CASE("npz bad archives raise errors", "[npy]") {
  ScratchDir dir("npz-bad");
  std::string zip = read_whole_file(kDir + "deflated.npz");
  write_bytes(dir / "short.npz", zip.substr(0, zip.size() / 2));
  expect_error([&] { read_npz(dir / "short.npz"); }, {"short.npz"});

  // Flip a byte inside the first member's compressed data: inflate or the CRC-32 check must catch it.
  std::string flipped = zip;
  flipped[200] = static_cast<char>(flipped[200] ^ 0x5a);
  write_bytes(dir / "flipped.npz", flipped);
  expect_error([&] { read_npz(dir / "flipped.npz"); }, {"flipped.npz", "member"});

  write_bytes(dir / "text.npz", "this is not a zip archive, just some text long enough");
  expect_error([&] { read_npz(dir / "text.npz"); }, {"text.npz", "end-of-central-directory"});
}
