// The protocol-buffers wire reader (lib/timbre/data/protowire.h) on
// dataset_spec.pb / snapshot.metadata-like messages: every field is read, every
// length-delimited payload is also tried as a nested message (as StructuredValue
// and TensorProto parsing do), and every field goes through the repeated-field
// readers in each of their forms.
#include <vector>

#include "fuzz_support.h"
#include "timbre/data/protowire.h"

using namespace timbre::data;

namespace {

void walk(std::string_view message, int depth) {
  proto::Reader reader(message, "fuzz");
  proto::Field field;
  std::vector<uint64_t> varints, fixed64;
  std::vector<uint32_t> fixed32;
  while (reader.next(field)) {
    timbre::fuzz::expect_clean([&] { proto::append_varints(field, varints, "fuzz"); });
    timbre::fuzz::expect_clean([&] { proto::append_fixed32(field, fixed32, "fuzz"); });
    timbre::fuzz::expect_clean([&] { proto::append_fixed64(field, fixed64, "fuzz"); });
    if (field.type == proto::WireType::bytes && depth < 16)
      timbre::fuzz::expect_clean([&] { walk(field.bytes, depth + 1); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  timbre::fuzz::expect_clean([&] { walk(timbre::fuzz::as_view(data, size), 0); });
  return 0;
}
