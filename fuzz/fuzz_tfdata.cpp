// A whole tf.data save directory through load_tfdata (lib/timbre/data/tfdata.h):
// dataset_spec.pb (StructuredValue), snapshot.metadata (SnapshotMetadataRecord)
// and one snapshot file of TensorProto records. The input packs the three:
//   u32 LE spec length | spec | u32 LE metadata length | metadata | snapshot file
// (scripts/fuzz.sh packs the fixture directories this way for the seed corpus).
// The snapshot goes under the run id the metadata names, when that is a short
// decimal number, so that fuzzed inputs reach the records.
#include <cstring>

#include "fuzz_support.h"
#include "timbre/data/protowire.h"
#include "timbre/data/tfdata.h"

namespace fs = std::filesystem;

namespace {

bool take(std::string_view& input, std::string_view& part) {
  uint32_t length = 0;
  if (input.size() < sizeof length) return false;
  std::memcpy(&length, input.data(), sizeof length);
  input.remove_prefix(sizeof length);
  if (length > input.size()) return false;
  part = input.substr(0, length);
  input.remove_prefix(length);
  return true;
}

std::string run_id_of(std::string_view metadata) {
  std::string run_id = "0";
  timbre::fuzz::expect_clean([&] {
    timbre::data::proto::Reader reader(metadata, "fuzz");
    timbre::data::proto::Field field;
    while (reader.next(field))
      if (field.number == 2 && field.type == timbre::data::proto::WireType::bytes && !field.bytes.empty() &&
          field.bytes.size() <= 20 && field.bytes.find_first_not_of("0123456789") == std::string_view::npos)
        run_id = std::string(field.bytes);
  });
  return run_id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = timbre::fuzz::as_view(data, size), spec, metadata;
  if (!take(input, spec) || !take(input, metadata)) return 0;
  const fs::path dir = timbre::fuzz::scratch_dir() / "save";
  fs::remove_all(dir);
  const fs::path shard = dir / run_id_of(metadata) / "00000000.shard";
  fs::create_directories(shard);
  timbre::fuzz::write_bytes(dir / "dataset_spec.pb", spec);
  timbre::fuzz::write_bytes(dir / "snapshot.metadata", metadata);
  timbre::fuzz::write_bytes(shard / "00000000.snapshot", input);
  timbre::fuzz::expect_clean([&] { (void)timbre::data::load_tfdata(dir.string()); });
  return 0;
}
