// .npy arrays (lib/timbre/data/npy.h), parsed from memory, then converted as the loaders do.
#include "fuzz_support.h"
#include "timbre/data/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  timbre::fuzz::expect_clean([&] {
    const timbre::data::NpyArray array = timbre::data::parse_npy(timbre::fuzz::as_view(data, size), "fuzz");
    (void)array.to_tensor();
    (void)timbre::data::serialize_npy(array);
    (void)array.to_int64("fuzz");
  });
  return 0;
}
