// .npz archives (lib/timbre/data/npy.h): read_npz takes a path, so the bytes go to a scratch file.
#include "fuzz_support.h"
#include "timbre/data/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (timbre::fuzz::scratch_dir() / "input.npz").string();
  timbre::fuzz::write_bytes(path, timbre::fuzz::as_view(data, size));
  timbre::fuzz::expect_clean([&] {
    for (const auto& [name, array] : timbre::data::read_npz(path)) (void)array.to_tensor();
  });
  return 0;
}
