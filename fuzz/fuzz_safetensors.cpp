// safetensors files (lib/timbre/io/safetensors.h), parsed from memory.
#include "fuzz_support.h"
#include "timbre/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  timbre::fuzz::expect_clean([&] {
    const timbre::io::SafetensorsFile file = timbre::io::decode_safetensors(timbre::fuzz::as_view(data, size), "fuzz");
    // A file that parses must re-encode (every tensor and metadata entry well formed).
    (void)timbre::io::encode_safetensors(file.tensors, file.metadata);
  });
  return 0;
}
