// tf.data.Dataset.save directories: fixtures written by real TensorFlow
// (tools/make_tfdata_fixtures.py), C++ round trips, and damaged directories.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "data_test_support.h"
#include "timbre/core/error.h"
#include "timbre/core/random.h"
#include "timbre/data/crc32c.h"
#include "timbre/data/npy.h"
#include "timbre/data/protowire.h"
#include "timbre/data/tfdata.h"
#include "timbre/data/tfrecord.h"

using namespace timbre;
using namespace timbre::data;
using timbre::testing::expect_error;
using timbre::testing::ScratchDir;
namespace fs = std::filesystem;

namespace {
const std::string kDir = std::string(TIMBRE_FIXTURES) + "/tfdata/";


void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// The snapshot files of a saved directory, in shard order.
std::vector<fs::path> snapshot_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().extension() == ".snapshot") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// A copy of fixture `name` in a scratch folder, to damage.
fs::path copy_fixture(const ScratchDir& scratch, const std::string& name) {
  const fs::path to = scratch.path() / name;
  fs::copy(kDir + name, to, fs::copy_options::recursive);
  return to;
}

// A deterministic small data set: patch i holds i + j/1000 at flat position j.
PatchDataset make_dataset(int64_t n, int64_t h, int64_t w, int classes) {
  PatchDataset ds;
  std::vector<float> values(static_cast<size_t>(n * h * w));
  for (size_t j = 0; j < values.size(); ++j)
    values[j] = static_cast<float>(j / (h * w)) + static_cast<float>(j % (h * w)) / 1000.0f;
  ds.patches = Tensor::from<float>({n, h, w, 1}, values);
  for (int64_t i = 0; i < n; ++i) ds.labels.push_back(static_cast<int32_t>((i * 7 + 3) % classes));
  ds.songs.assign(static_cast<size_t>(n), -1);
  for (int k = 0; k < classes; ++k) ds.class_names.push_back("genre" + std::to_string(k));
  return ds;
}

void check_same(const PatchDataset& got, const PatchDataset& want) {
  REQUIRE(got.patches.shape() == want.patches.shape());
  CHECK(got.patches.to_vector<float>() == want.patches.to_vector<float>());
  CHECK(got.labels == want.labels);
  CHECK(got.class_names == want.class_names);
  CHECK(got.songs == std::vector<int32_t>(want.labels.size(), -1));
}
}  // namespace

TEST_CASE("crc32c and the TFRecord mask", "[tfdata]") {
  CHECK(crc32c("123456789", 9) == 0xe3069283u);  // the standard check value
  CHECK(crc32c("", 0) == 0u);
  const std::string text(1000, 'x');
  CHECK(crc32c_extend(crc32c(text.data(), 123), text.data() + 123, 877) == crc32c(text.data(), 1000));
  // A TFRecord header for a 0-length record, as TensorFlow writes it.
  std::string stream;
  append_record(stream, "");
  CHECK(stream.size() == 16);
  CHECK(split_records(stream, "empty").size() == 1);
}

TEST_CASE("protowire round trip and truncation", "[tfdata]") {
  proto::Writer w;
  w.varint(1, 300);
  w.bytes(2, "hello");
  w.packed_varints(5, {1, 9, 1u << 20});
  w.varint(1000, 1);
  std::vector<uint64_t> packed;
  uint64_t first = 0, last = 0;
  std::string text;
  proto::Reader r(w.str(), "test message");
  proto::Field f;
  while (r.next(f)) {
    if (f.number == 1) first = f.value;
    if (f.number == 2) text = std::string(f.bytes);
    if (f.number == 5) proto::append_varints(f, packed, "test");
    if (f.number == 1000) last = f.value;
  }
  CHECK(first == 300);
  CHECK(text == "hello");
  CHECK(packed == std::vector<uint64_t>{1, 9, 1u << 20});
  CHECK(last == 1);
  for (size_t cut = 1; cut < w.str().size(); ++cut) {
    if (cut == 3 || cut == 10 || cut == 17) continue;  // field boundaries: a shorter message is still valid
    proto::Reader t(std::string_view(w.str()).substr(0, cut), "cut message");
    CHECK_THROWS_AS([&] { while (t.next(f)) {} }(), timbre::Error);
  }
}

TEST_CASE("tfdata fixtures written by TensorFlow load with the expected values", "[tfdata]") {
  struct Case {
    const char* name;
    bool one_hot;
  };
  for (const Case& c : {Case{"onehot_3shards", true}, Case{"onehot_3shards_gzip", true},
                        Case{"onehot_3shards_snappy", true}, Case{"int64_default_shards", false},
                        Case{"int32_2shards_gzip", false}, Case{"dict_int64", false},
                        Case{"batched_onehot", true}}) {
    INFO(c.name);
    const PatchDataset ds = load_tfdata(kDir + c.name);
    const Tensor want_patches = read_npy(kDir + "expected/" + c.name + "_patches.npy").to_tensor();
    const std::vector<int64_t> want_labels = read_npy(kDir + "expected/" + c.name + "_labels.npy").to_int64();
    REQUIRE(ds.patches.shape() == Shape{20, 8, 8, 1});
    CHECK(ds.patches.to_vector<float>() == want_patches.to_vector<float>());
    REQUIRE(ds.labels.size() == want_labels.size());
    for (size_t i = 0; i < want_labels.size(); ++i) CHECK(ds.labels[i] == want_labels[i]);
    CHECK(ds.songs == std::vector<int32_t>(20, -1));
    if (c.one_hot) {
      CHECK(ds.class_names.size() == 8);
      CHECK(ds.class_names.front() == "class_0");
    } else {
      CHECK(ds.num_classes() == *std::max_element(want_labels.begin(), want_labels.end()) + 1);
    }
  }
}

TEST_CASE("tfdata compression option and class names", "[tfdata]") {
  TfDataOptions gzip;
  gzip.compression = "gzip";
  CHECK(load_tfdata(kDir + "onehot_3shards_gzip", gzip).size() == 20);
  TfDataOptions snappy;
  snappy.compression = "SNAPPY";
  CHECK(load_tfdata(kDir + "onehot_3shards_snappy", snappy).size() == 20);
  TfDataOptions none;
  none.compression = "none";
  expect_error([&] { load_tfdata(kDir + "onehot_3shards_gzip", none); }, {"00000000.snapshot", "CRC mismatch"});
  TfDataOptions bad;
  bad.compression = "lz4";
  expect_error([&] { load_tfdata(kDir + "onehot_3shards", bad); }, {"unknown compression 'lz4'"});

  TfDataOptions named;
  for (const char* g : {"blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop"})
    named.class_names.push_back(g);
  CHECK(load_tfdata(kDir + "onehot_3shards", named).class_names == named.class_names);
  CHECK(load_tfdata(kDir + "int64_default_shards", named).num_classes() == 8);
  named.class_names.pop_back();
  expect_error([&] { load_tfdata(kDir + "onehot_3shards", named); }, {"7 class names", "width 8"});
}

TEST_CASE("tfdata save then load round trip", "[tfdata]") {
  ScratchDir scratch("tfdata-roundtrip");
  const PatchDataset ds = make_dataset(13, 6, 5, 4);
  for (const char* compression : {"none", "gzip", "snappy"})
    for (bool one_hot : {true, false})
      for (int shards : {1, 3, 20}) {
        INFO(compression << " one_hot=" << one_hot << " shards=" << shards);
        TfDataSaveOptions save;
        save.compression = compression;
        save.one_hot_labels = one_hot;
        save.num_shards = shards;
        const std::string dir = scratch / (std::string(compression) + (one_hot ? "_onehot_" : "_int_") +
                                           std::to_string(shards));
        save_tfdata(ds, dir, save);
        CHECK(snapshot_files(dir).size() == static_cast<size_t>(std::min(shards, 13)));
        TfDataOptions load;
        load.class_names = ds.class_names;
        check_same(load_tfdata(dir, load), ds);
      }

  // Existing directories are kept unless overwrite is set; no temporary is left behind.
  const std::string dir = scratch / "none_onehot_1";
  expect_error([&] { save_tfdata(ds, dir, {}); }, {"none_onehot_1", "already exists"});
  TfDataSaveOptions overwrite;
  overwrite.overwrite = true;
  const PatchDataset smaller = make_dataset(5, 6, 5, 4);
  save_tfdata(smaller, dir + "/", overwrite);
  CHECK(load_tfdata(dir).size() == 5);
  for (const auto& e : fs::directory_iterator(scratch.path()))
    CHECK(e.path().filename().string().rfind(".", 0) != 0);

  // An empty data set keeps its patch shape through the spec.
  const PatchDataset empty = make_dataset(0, 6, 5, 4);
  save_tfdata(empty, scratch / "empty", {});
  const PatchDataset back = load_tfdata(scratch / "empty");
  CHECK(back.patches.shape() == Shape{0, 6, 5, 1});
  CHECK(back.size() == 0);
}

// Writes directories for tools/check_tfdata_roundtrip.py when TIMBRE_TFDATA_EXPORT_DIR is set.
TEST_CASE("tfdata export for the TensorFlow round-trip check", "[tfdata]") {
  const char* root = std::getenv("TIMBRE_TFDATA_EXPORT_DIR");
  if (!root) return;
  const PatchDataset ds = make_dataset(13, 6, 5, 4);
  for (const char* compression : {"none", "gzip", "snappy"})
    for (bool one_hot : {true, false}) {
      TfDataSaveOptions save;
      save.compression = compression;
      save.one_hot_labels = one_hot;
      save.num_shards = 3;
      save.overwrite = true;
      const std::string dir = std::string(root) + "/" + compression + (one_hot ? "_onehot" : "_int64");
      save_tfdata(ds, dir, save);
    }
  write_npz(std::string(root) + "/expected.npz",
            {{"patches", NpyArray::from_tensor(ds.patches)},
             {"labels", NpyArray::from_values<int64_t>({ds.size()}, {ds.labels.begin(), ds.labels.end()})}});
}

TEST_CASE("tfdata damaged directories raise errors naming the file and the problem", "[tfdata]") {
  ScratchDir scratch("tfdata-bad");

  SECTION("not a data set") {
    expect_error([&] { load_tfdata(scratch / "nowhere"); }, {"nowhere", "no such directory"});
    fs::create_directories(scratch.path() / "plain");
    write_bytes(scratch / "plain/readme.txt", "hello");
    expect_error([&] { load_tfdata(scratch / "plain"); }, {"plain", "not a tf.data.Dataset.save directory"});
  }

  SECTION("truncated TFRecord") {
    const fs::path dir = copy_fixture(scratch, "onehot_3shards");
    const fs::path file = snapshot_files(dir).front();
    const std::string bytes = read_whole_file(file.string());
    write_bytes(file.string(), bytes.substr(0, bytes.size() - 10));
    expect_error([&] { load_tfdata(dir.string()); }, {file.string(), "truncated"});
  }

  SECTION("truncated gzip stream") {
    const fs::path dir = copy_fixture(scratch, "onehot_3shards_gzip");
    const fs::path file = snapshot_files(dir).front();
    const std::string bytes = read_whole_file(file.string());
    write_bytes(file.string(), bytes.substr(0, bytes.size() / 2));
    expect_error([&] { load_tfdata(dir.string()); }, {file.string(), "truncated"});
  }

  SECTION("bad CRC") {
    const fs::path dir = copy_fixture(scratch, "onehot_3shards");
    const fs::path file = snapshot_files(dir)[1];
    std::string bytes = read_whole_file(file.string());
    bytes[100] = static_cast<char>(bytes[100] ^ 0x01);  // inside the first record's patch values
    write_bytes(file.string(), bytes);
    expect_error([&] { load_tfdata(dir.string()); }, {file.string(), "record 0", "data CRC mismatch"});
  }

  SECTION("corrupt snappy block") {
    const fs::path dir = copy_fixture(scratch, "onehot_3shards_snappy");
    const fs::path file = snapshot_files(dir).front();
    std::string bytes = read_whole_file(file.string());
    bytes[4] = '\xff';  // the block's uncompressed-length varint now claims far more than it can hold
    bytes[5] = '\xff';
    bytes[6] = '\xff';
    write_bytes(file.string(), bytes);
    TfDataOptions snappy;
    snappy.compression = "snappy";
    expect_error([&] { load_tfdata(dir.string(), snappy); }, {file.string(), "snappy block 0"});
  }

  // Element specs written by hand: three components; a string component.
  auto tensor_spec = [](int dtype, std::vector<int64_t> dims) {
    proto::Writer shape;
    for (int64_t d : dims) {
      proto::Writer dim;
      dim.varint(1, static_cast<uint64_t>(d));
      shape.bytes(2, dim.str());
    }
    proto::Writer spec;
    spec.bytes(2, shape.str());
    spec.varint(3, static_cast<uint64_t>(dtype));
    proto::Writer value;
    value.bytes(33, spec.str());
    return value.str();
  };
  auto tuple_of = [](const std::vector<std::string>& values) {
    proto::Writer tuple;
    for (const auto& v : values) tuple.bytes(1, v);
    proto::Writer top;
    top.bytes(52, tuple.str());
    return top.str();
  };

  SECTION("three components") {
    const fs::path dir = copy_fixture(scratch, "onehot_3shards");
    write_bytes((dir / "dataset_spec.pb").string(),
                tuple_of({tensor_spec(1, {8, 8, 1}), tensor_spec(1, {8}), tensor_spec(9, {})}));
    expect_error([&] { load_tfdata(dir.string()); }, {"dataset_spec.pb", "3 components", "expected 2"});
  }

  SECTION("string label") {
    const fs::path dir = copy_fixture(scratch, "int64_default_shards");
    write_bytes((dir / "dataset_spec.pb").string(), tuple_of({tensor_spec(1, {8, 8, 1}), tensor_spec(7, {})}));
    expect_error([&] { load_tfdata(dir.string()); }, {"dataset_spec.pb", "string", "expected an integer type"});
  }

  SECTION("three-channel patches") {
    const fs::path dir = copy_fixture(scratch, "onehot_3shards");
    write_bytes((dir / "dataset_spec.pb").string(), tuple_of({tensor_spec(1, {8, 8, 3}), tensor_spec(1, {8})}));
    expect_error([&] { load_tfdata(dir.string()); }, {"dataset_spec.pb", "3 channels"});
  }

  SECTION("garbage spec") {
    const fs::path dir = copy_fixture(scratch, "onehot_3shards");
    write_bytes((dir / "dataset_spec.pb").string(), std::string("\xa2\x03\xff\xff\x0f", 5));
    expect_error([&] { load_tfdata(dir.string()); }, {"dataset_spec.pb", "claims"});
  }

  SECTION("metadata disagreeing with the files") {
    const fs::path dir = copy_fixture(scratch, "int64_default_shards");
    const std::string meta = read_whole_file((dir / "snapshot.metadata").string());
    proto::Writer w;
    proto::Reader r(meta, "meta");
    proto::Field f;
    while (r.next(f)) {
      if (f.number == 2) w.bytes(2, f.bytes);
      else if (f.number == 5) w.bytes(5, f.bytes);
      else w.varint(f.number, f.number == 6 ? 21 : f.value);
    }
    write_bytes((dir / "snapshot.metadata").string(), w.str());
    expect_error([&] { load_tfdata(dir.string()); }, {"metadata says 21 elements", "hold 20"});
  }

  // Records rewritten through the public TFRecord functions: a label that is not one-hot,
  // and a tensor whose shape claims far more values than its bytes hold.
  auto rewrite_record = [](const fs::path& file, size_t index, const std::string& record) {
    const std::string stream = read_whole_file(file.string());
    std::string out;
    const auto records = split_records(stream, file.string());
    for (size_t i = 0; i < records.size(); ++i) append_record(out, i == index ? std::string_view(record) : records[i]);
    write_bytes(file.string(), out);
  };
  auto tensor = [](int dtype, std::vector<int64_t> dims, const std::string& content) {
    proto::Writer shape;
    for (int64_t d : dims) {
      proto::Writer dim;
      dim.varint(1, static_cast<uint64_t>(d));
      shape.bytes(2, dim.str());
    }
    proto::Writer t;
    t.varint(1, static_cast<uint64_t>(dtype));
    t.bytes(2, shape.str());
    t.bytes(4, content);
    return t.str();
  };

  SECTION("label not one-hot") {
    const fs::path dir = copy_fixture(scratch, "onehot_3shards");
    std::vector<float> soft(8, 0.0f);
    soft[2] = soft[5] = 0.5f;
    const fs::path file = snapshot_files(dir).front();
    rewrite_record(file, 1, tensor(1, {8}, std::string(reinterpret_cast<const char*>(soft.data()), 32)));
    expect_error([&] { load_tfdata(dir.string()); }, {file.string(), "not one-hot"});
  }

  SECTION("tensor shape claims more than its bytes") {
    const fs::path dir = copy_fixture(scratch, "onehot_3shards");
    const fs::path file = snapshot_files(dir).front();
    rewrite_record(file, 0, tensor(1, {1000, 1000, 1}, "abcd"));
    expect_error([&] { load_tfdata(dir.string()); }, {file.string(), "4 content bytes, expected 4000000"});
    rewrite_record(file, 0, tensor(1, {1 << 20, 1 << 20, 1}, "abcd"));
    expect_error([&] { load_tfdata(dir.string()); }, {file.string(), "is too large"});
  }

  SECTION("typed values instead of tensor_content are accepted") {
    const fs::path dir = copy_fixture(scratch, "int64_default_shards");
    const fs::path file = snapshot_files(dir).front();
    const PatchDataset before = load_tfdata(dir.string());
    proto::Writer t;  // label 5 as int64_val
    t.varint(1, 9);
    t.bytes(2, "");
    t.varint(10, 5);
    rewrite_record(file, 1, t.str());
    const PatchDataset after = load_tfdata(dir.string());
    CHECK(after.labels[0] == 5);
    CHECK(after.patches.to_vector<float>() == before.patches.to_vector<float>());
  }
}
