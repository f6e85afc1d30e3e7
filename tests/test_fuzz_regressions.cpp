// Hostile files against every reader of untrusted input: a small file that
// claims an enormous tensor, array, record or audio stream must be refused with
// a timbre::Error before anything of the claimed size is allocated (never
// std::bad_alloc, never a crash), and the inputs the fuzzers of fuzz/ found
// crashing stay fixed (docs/reliability.md lists them).
#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "timbre/data/audio.h"
#include "timbre/data/crc32c.h"
#include "timbre/data/npy.h"
#include "timbre/data/protowire.h"
#include "timbre/data/tfdata.h"
#include "timbre/data/tfrecord.h"
#include "timbre/io/safetensors.h"

using namespace timbre;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("timbre_test_fuzz_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

void write_bytes(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::string read_bytes(const fs::path& path) { return data::read_whole_file(path.string()); }

void store_le(std::string& bytes, size_t at, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

std::string le64(uint64_t value) {
  std::string out(8, '\0');
  store_le(out, 0, value, 8);
  return out;
}

// The message of the timbre::Error that `read` throws; any other exception escapes
// and fails the test case (std::bad_alloc is exactly what these tests rule out).
template <class F>
std::string refusal(F&& read) {
  try {
    read();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

#define CHECK_REFUSED(expression, expected) \
  CHECK_THAT(refusal([&] { (void)(expression); }), Catch::Contains(expected))

}  // namespace

TEST_CASE("safetensors: a 1 KB file claiming a 400 GB tensor or a huge header is refused", "[fuzz][limits]") {
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[100000,100000,10],"data_offsets":[0,400000000000]}})";
  std::string file = le64(header.size()) + header + std::string(1024, '\0');
  CHECK_REFUSED(io::decode_safetensors(file, "huge.safetensors"), "huge.safetensors");
  // Only the header length: 2^62 bytes of JSON announced in a 16-byte file.
  CHECK_REFUSED(io::decode_safetensors(le64(uint64_t{1} << 62) + "{}      ", "header.safetensors"),
                  "header.safetensors");
  // Extents whose product overflows 64 bits.
  const std::string overflow = R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})";
  CHECK_REFUSED(io::decode_safetensors(le64(overflow.size()) + overflow, "overflow.safetensors"),
                  "overflow.safetensors");
}

TEST_CASE("npy and npz: small files claiming huge arrays are refused", "[fuzz][limits]") {
  const auto npy_with_shape = [](const std::string& shape) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    header.resize(((10 + header.size() + 1 + 63) / 64) * 64 - 10 - 1, ' ');
    header += '\n';
    std::string file = std::string("\x93NUMPY\x01\x00", 8);
    file += static_cast<char>(header.size() & 0xff);
    file += static_cast<char>(header.size() >> 8);
    return file + header + std::string(1024, '\0');
  };
  CHECK_REFUSED(data::parse_npy(npy_with_shape("(100000, 100000, 10)"), "huge.npy"), "huge.npy");
  CHECK_REFUSED(data::parse_npy(npy_with_shape("(4611686018427387904, 4611686018427387904)"), "overflow.npy"),
                  "overflow.npy");

  // An archive member whose sizes claim 2 GB from the fixture's few hundred deflated bytes.
  std::string zip = read_bytes(fs::path(TIMBRE_FIXTURES) / "npy" / "deflated.npz");
  const size_t central = zip.find(std::string("PK\x01\x02", 4));
  REQUIRE(central != std::string::npos);
  store_le(zip, central + 24, 0x7ffffff0u, 4);
  store_le(zip, 22, 0x7ffffff0u, 4);  // the first local header's copy
  const fs::path path = scratch("huge.npz");
  write_bytes(path, zip);
  CHECK_REFUSED(data::read_npz(path.string()), "huge.npz");
}

TEST_CASE("tfrecord: a record claiming 100 GB is refused", "[fuzz][limits]") {
  std::string stream;
  data::append_record(stream, "payload");
  // Length 100 GB with a valid header CRC, so that only the size check can stop it.
  store_le(stream, 0, 100'000'000'000ull, 8);
  store_le(stream, 8, data::crc32c_mask(data::crc32c(stream.data(), 8)), 4);
  CHECK_REFUSED(data::split_records(stream, "huge.tfrecord"), "huge.tfrecord");
  // A snappy block whose varint claims 4 GB of output from a handful of bytes.
  std::string snappy("\x08\x00\x00\x00\x80\x80\x80\x80\x10\x00\x00\x00", 12);
  CHECK_REFUSED(data::decompress(snappy, data::Compression::snappy, "huge.snappy"), "huge.snappy");
}

TEST_CASE("tf.data: a TensorProto claiming a 10^10-value patch is refused", "[fuzz][limits]") {
  data::PatchDataset ds;
  ds.patches = Tensor::zeros({2, 4, 4, 1});
  ds.labels = {0, 1};
  ds.songs = {0, 1};
  ds.class_names = {"a", "b"};
  ds.song_names = {"s0", "s1"};
  const fs::path dir = scratch("huge_tfdata");
  fs::remove_all(dir);
  data::save_tfdata(ds, dir.string());

  // The hostile patch: float32 of shape (100000, 100000, 1) with 16 content bytes.
  data::proto::Writer shape;
  for (uint64_t extent : {100000ull, 100000ull, 1ull}) {
    data::proto::Writer dim;
    dim.varint(1, extent);
    shape.bytes(2, dim.str());
  }
  data::proto::Writer tensor;
  tensor.varint(1, 1);  // DT_FLOAT
  tensor.bytes(2, shape.str());
  tensor.bytes(4, std::string(16, '\0'));

  fs::path snapshot;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().extension() == ".snapshot") snapshot = entry.path();
  REQUIRE(!snapshot.empty());
  const std::string original = read_bytes(snapshot);
  const std::vector<std::string_view> records = data::split_records(original, snapshot.string());
  REQUIRE(records.size() == 4);  // (patch, label) twice
  std::string stream;
  data::append_record(stream, tensor.str());
  for (size_t i = 1; i < records.size(); ++i) data::append_record(stream, records[i]);
  write_bytes(snapshot, stream);
  CHECK_REFUSED(data::load_tfdata(dir.string(), {.compression = "none"}), "too large");
  fs::remove_all(dir);
}

// The FLAC case crashed before the fix in audio.cpp: read_audio allocated the frame count
// the header claims before decoding any, so this 1 KB file asked for 256 GiB (std::bad_alloc,
// or an ASan abort under fuzz_audio). The claim now reserves at most 2^24 samples.
TEST_CASE("audio: small files claiming gigabytes of audio are refused", "[fuzz][limits]") {
  // A WAV header promising 2 GB of 16-bit PCM followed by 1 KB.
  std::string wav = read_bytes(fs::path(TIMBRE_FIXTURES) / "melspec" / "sine.wav").substr(0, 1024);
  const size_t data_chunk = wav.find("data");
  REQUIRE(data_chunk != std::string::npos);
  store_le(wav, data_chunk + 4, 0x7ffffff0u, 4);
  store_le(wav, 4, 0x7ffffff0u + data_chunk, 4);  // RIFF size to match
  const fs::path wav_path = scratch("huge.wav");
  write_bytes(wav_path, wav);
  CHECK_REFUSED(data::read_audio(wav_path.string()), "huge.wav");

  // A FLAC whose STREAMINFO promises 2^35 frames (about 9 days at 44.1 kHz), cut to 1 KB.
  std::string flac = read_bytes(fs::path(TIMBRE_FIXTURES) / "melspec" / "stereo44k.flac").substr(0, 1024);
  REQUIRE(flac.compare(0, 4, "fLaC") == 0);
  // STREAMINFO starts at byte 8; its bytes 10..17 hold rate (20 bits), channels-1 (3),
  // bits-1 (5) and the total sample count (36 bits), big-endian.
  uint64_t packed = 0;
  for (int i = 0; i < 8; ++i) packed = (packed << 8) | static_cast<uint8_t>(flac[18 + i]);
  packed = (packed & ~((uint64_t{1} << 36) - 1)) | (uint64_t{1} << 35);
  for (int i = 7; i >= 0; --i, packed >>= 8) flac[18 + i] = static_cast<char>(packed & 0xff);
  const fs::path flac_path = scratch("huge.flac");
  write_bytes(flac_path, flac);
  CHECK_REFUSED(data::read_audio(flac_path.string()), "huge.flac");
}

// fuzz_protowire, on its seed corpus (a fixture's dataset_spec.pb, every field tried as
// every repeated type): an empty packed fixed32/fixed64 field (e.g. a TensorProto's
// float_val = []) made append_fixed memcpy 0 bytes into an empty vector's null data(),
// undefined behaviour that UBSan reports. Fixed in protowire.cpp; this test fails under
// the sanitizer build (scripts/test-sanitizers.sh) if it comes back.
TEST_CASE("protowire: an empty packed fixed-width field appends nothing", "[fuzz]") {
  const std::string message("\x2a\x00\x31\x00\x00\x00\x00\x00\x00\x00\x00", 11);  // float_val = [], then one double
  data::proto::Reader reader(message, "fuzz");
  data::proto::Field field;
  REQUIRE(reader.next(field));
  std::vector<uint32_t> fixed32;
  std::vector<uint64_t> fixed64;
  data::proto::append_fixed32(field, fixed32, "fuzz");
  data::proto::append_fixed64(field, fixed64, "fuzz");
  CHECK(fixed32.empty());
  CHECK(fixed64.empty());
  REQUIRE(reader.next(field));
  data::proto::append_fixed64(field, fixed64, "fuzz");
  CHECK(fixed64 == std::vector<uint64_t>{0});
  CHECK_FALSE(reader.next(field));

  // The fuzzer's own input (fuzz/corpus/fuzz_protowire/ubsan-empty-packed-fixed32), walked as
  // fuzz_protowire walks it: every field through every appender, bytes fields as nested messages.
  const std::string found(
      "\xa2\x03\x1e\x0a\x13\x8a\x02\x10\x12\x0c\x12\x02\x08\x08\x12\x02\x08\x08\x12\x02\x08\x01\x18\x01\x0a\x07"
      "\x8a\x02\x04\x12\x00\x18\x03",
      33);
  std::function<void(std::string_view, int)> walk = [&](std::string_view bytes, int depth) {
    data::proto::Reader r(bytes, "fuzz");
    data::proto::Field f;
    while (r.next(f)) {
      (void)refusal([&] { data::proto::append_varints(f, fixed64, "fuzz"); });
      (void)refusal([&] { data::proto::append_fixed32(f, fixed32, "fuzz"); });
      (void)refusal([&] { data::proto::append_fixed64(f, fixed64, "fuzz"); });
      if (f.type == data::proto::WireType::bytes && depth < 16) (void)refusal([&] { walk(f.bytes, depth + 1); });
    }
  };
  CHECK_NOTHROW(refusal([&] { walk(found, 0); }));
}
