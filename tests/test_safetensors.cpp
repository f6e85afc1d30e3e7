// safetensors: round trips (values, shapes, metadata, files) and rejection of malformed files.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "timbre/data/crc32c.h"
#include "timbre/io/safetensors.h"

using namespace timbre;

namespace {
// A file from a raw header text and `data_bytes` zero bytes of data.
std::string raw_file(const std::string& header, size_t data_bytes) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  return out + header + std::string(data_bytes, '\0');
}

void require_rejected(const std::string& bytes, const std::string& expected_fragment) {
  try {
    io::decode_safetensors(bytes, "bad.safetensors");
    FAIL("accepted a malformed file; expected an error about: " << expected_fragment);
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("bad.safetensors") != std::string::npos);
    CHECK(std::string(e.what()).find(expected_fragment) != std::string::npos);
  }
}
}  // namespace

TEST_CASE("safetensors round trip keeps values, shapes, dtypes and metadata", "[safetensors]") {
  io::TensorMap tensors;
  tensors["conv2d/kernel"] = Tensor::from<float>({2, 1, 1, 3}, {1.5f, -2.f, 3.25f, 0.f, 1e-30f, -7.f});
  tensors["dense/bias"] = Tensor::from<double>({2}, {0.1, -0.2});
  tensors["scalar"] = Tensor::from<float>(Shape{}, {42.f});
  tensors["empty"] = Tensor::zeros({0, 4});
  const io::Metadata meta{{"epoch", "3"}, {"note", "quotes \" and \\ survive"}};

  const std::string bytes = io::encode_safetensors(tensors, meta);
  const uint64_t header_len = *reinterpret_cast<const uint64_t*>(bytes.data());
  CHECK((8 + header_len) % 8 == 0);  // data aligned to 8 bytes
  const io::SafetensorsFile back = io::decode_safetensors(bytes);
  CHECK(back.metadata == meta);
  REQUIRE(back.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    const Tensor& u = back.tensors.at(name);
    CHECK(u.shape() == t.shape());
    CHECK(u.dtype() == t.dtype());
    CHECK(u.to_vector<double>() == t.to_vector<double>());
  }
}

TEST_CASE("safetensors files are written atomically and read back", "[safetensors]") {
  const auto dir = std::filesystem::temp_directory_path() / "timbre_test_safetensors";
  std::filesystem::remove_all(dir);
  const auto path = dir / "sub" / "w.safetensors";
  io::save_safetensors(path, {{"a", Tensor::from<float>({3}, {1.f, 2.f, 3.f})}}, {{"k", "v"}});
  io::save_safetensors(path, {{"a", Tensor::from<float>({2}, {4.f, 5.f})}}, {{"k", "w"}});  // replaces
  const io::SafetensorsFile f = io::load_safetensors(path);
  CHECK(f.tensors.at("a").to_vector<float>() == std::vector<float>{4.f, 5.f});
  CHECK(f.metadata.at("k") == "w");
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir / "sub")) ++files;
  CHECK(files == 1);  // no temporary left behind
  CHECK_THROWS_WITH(io::load_safetensors(dir / "missing.safetensors"), Catch::Contains("cannot open"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("safetensors matches the reference layout byte for byte", "[safetensors]") {
  // The reference writer's layout, header {"__metadata__":{...},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}
  // padded to 8 bytes, with timbre's checksums (of the tensor's 8 bytes and of the empty metadata) in the metadata.
  const float data[2] = {1.f, 2.f};
  char tensor_crc[9], metadata_crc[9];
  std::snprintf(tensor_crc, sizeof tensor_crc, "%08x", data::crc32c(data, sizeof data));
  std::snprintf(metadata_crc, sizeof metadata_crc, "%08x", data::crc32c("{}", 2));
  const std::string bytes = io::encode_safetensors({{"x", Tensor::from<float>({2}, {1.f, 2.f})}});
  const std::string header = std::string(R"({"__metadata__":{"timbre.crc32c":"{\"__metadata__\":\")") + metadata_crc +
                             R"(\",\"x\":\")" + tensor_crc + R"(\"}"},"x":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}})";
  const size_t padded = (header.size() + 7) / 8 * 8;
  REQUIRE(bytes.size() == 8 + padded + 8);
  CHECK(bytes.substr(8, header.size()) == header);
  CHECK(bytes.substr(8 + header.size(), padded - header.size()) == std::string(padded - header.size(), ' '));
  float values[2];
  std::memcpy(values, bytes.data() + 8 + padded, 8);
  CHECK(values[0] == 1.f);
  CHECK(values[1] == 2.f);
}

TEST_CASE("a flipped bit in a tensor or in the metadata fails the checksum, naming what changed",
          "[safetensors][bad-input]") {
  const std::string good = io::encode_safetensors(
      {{"conv/kernel", Tensor::from<float>({4}, {1.f, 2.f, 3.f, 4.f})}, {"dense/bias", Tensor::from<float>({2}, {5.f, 6.f})}},
      {{"epoch", "12"}});
  REQUIRE_NOTHROW(io::decode_safetensors(good));
  // The tensors are stored in name order: conv/kernel's 16 bytes, then dense/bias' 8.
  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 0x10;
  require_rejected(flipped, "tensor \"dense/bias\" fails its CRC-32C checksum");
  flipped = good;
  flipped[flipped.size() - 20] ^= 0x01;
  require_rejected(flipped, "tensor \"conv/kernel\" fails its CRC-32C checksum");
  flipped = good;
  flipped[good.find("\"12\"") + 2] = '3';  // epoch 13: still valid JSON, a different value
  require_rejected(flipped, "metadata fails the CRC-32C checksum");
  // A file of another writer, without checksums, is read as it is.
  const std::string plain = raw_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  CHECK(io::decode_safetensors(plain).tensors.at("x").to_vector<float>() == std::vector<float>{0.f});
  CHECK_THROWS_WITH(io::encode_safetensors({}, {{"timbre.crc32c", "x"}}), Catch::Contains("reserved"));
}

TEST_CASE("safetensors rejects truncated files and bad header lengths", "[safetensors][bad-input]") {
  const std::string good = io::encode_safetensors({{"x", Tensor::from<float>({4}, {1.f, 2.f, 3.f, 4.f})}});
  require_rejected("", "too short");
  require_rejected(good.substr(0, 5), "too short");
  require_rejected(good.substr(0, 20), "runs past the end");       // header cut
  require_rejected(good.substr(0, good.size() - 4), "outside the 12 data bytes");  // data cut
  std::string huge = good;
  huge[7] = 0x7f;  // header length ~ 2^63
  require_rejected(huge, "exceeds the 100 MB limit");
  std::string long_header = good;
  long_header[0] = static_cast<char>(good.size());  // longer than what follows
  long_header[1] = 0;
  require_rejected(long_header, "runs past the end");
}

TEST_CASE("safetensors rejects malformed headers", "[safetensors][bad-input]") {
  require_rejected(raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 8), "not valid JSON");
  require_rejected(raw_file(R"([1,2])", 0), "must be a JSON object");
  require_rejected(raw_file(R"({"x":{"dtype":"F32","shape":[2]}})", 8), "data_offsets");
  require_rejected(raw_file(R"({"x":{"dtype":"F32","data_offsets":[0,8]}})", 8), "shape");
  require_rejected(raw_file(R"({"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8), "dtype I64 is not supported");
  require_rejected(raw_file(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "non-negative");
  require_rejected(raw_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 12");
  require_rejected(raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), "outside");
  require_rejected(raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 8), "outside");
  require_rejected(raw_file(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
                   "exceeds");
  require_rejected(raw_file(R"({"__metadata__":{"epoch":3}})", 0), "must be a string");
  require_rejected(raw_file(R"({"__metadata__":[]})", 0), "must be an object");
}

TEST_CASE("safetensors rejects overlapping offsets, gaps and unused data", "[safetensors][bad-input]") {
  require_rejected(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                            12),
                   "overlapping");
  require_rejected(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                            12),
                   "gap");
  require_rejected(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8),
                   "cover 4 data bytes but the file holds 8");
  // Two names for the same bytes.
  require_rejected(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                            4),
                   "overlapping");
}

TEST_CASE("safetensors reads a file written by the reference implementation", "[safetensors]") {
  // tools/make_safetensors_fixture.py (Python's safetensors.numpy.save_file).
  const io::SafetensorsFile f = io::load_safetensors(TIMBRE_FIXTURES "/safetensors/reference.safetensors");
  CHECK(f.metadata.at("format") == "reference");
  REQUIRE(f.tensors.size() == 3);
  const Tensor& kernel = f.tensors.at("dense/kernel");
  CHECK(kernel.shape() == Shape{2, 3});
  CHECK(kernel.dtype() == DType::f32);
  CHECK(kernel.to_vector<float>() == std::vector<float>{-0.5f, -0.25f, 0.f, 0.25f, 0.5f, 0.75f});
  CHECK(f.tensors.at("dense/bias").dtype() == DType::f64);
  CHECK(f.tensors.at("dense/bias").to_vector<double>() == std::vector<double>{1.5, -2.25});
  CHECK(f.tensors.at("scalar").shape() == Shape{});
  CHECK(f.tensors.at("scalar").item<float>() == 7.f);
}
