// Audio decoding (lib/timbre/data/audio.h): read_audio takes a path (libsndfile
// opens it), so the bytes go to a scratch file; then timbre's own code after
// decoding: mixing down and resampling to 22050 Hz.
#include "fuzz_support.h"
#include "timbre/data/audio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (timbre::fuzz::scratch_dir() / "input.audio").string();
  timbre::fuzz::write_bytes(path, timbre::fuzz::as_view(data, size));
  timbre::fuzz::expect_clean([&] {
    timbre::data::Audio audio = timbre::data::read_audio(path);
    const int rate = audio.sample_rate;
    // Resampling a long clip is slow and not a parser's work: keep the fuzzer fast.
    if (audio.frames() > (1 << 16)) return;
    (void)timbre::data::resample(timbre::data::mix_to_mono(std::move(audio)), rate, 22050);
  });
  return 0;
}
