// One tf.data snapshot file (lib/timbre/data/tfrecord.h): compression detection,
// gzip and snappy decompression, and the record framing with its CRCs, all in memory.
#include "fuzz_support.h"
#include "timbre/data/tfrecord.h"

using namespace timbre::data;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view file = timbre::fuzz::as_view(data, size);
  timbre::fuzz::expect_clean([&] {
    const std::string stream = decompress(file, detect_compression(file, "fuzz"), "fuzz");
    (void)split_records(stream, "fuzz");
  });
  // Each decompressor and the framing on their own, whatever detection would say.
  for (Compression c : {Compression::none, Compression::gzip, Compression::snappy})
    timbre::fuzz::expect_clean([&] { (void)split_records(decompress(file, c, "fuzz"), "fuzz"); });
  return 0;
}
