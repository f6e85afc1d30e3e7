// timbre::Classifier embedded in a program, on a file or on a live stream:
//   classify runs/cnn_bilstm/best.safetensors song.wav
//   ffmpeg -i song.mp3 -f s16le -ac 2 -ar 44100 - | classify runs/cnn_bilstm/best.safetensors --stream --rate 44100 --channels 2
// A file: its genre over the whole clip and each patch's vote. A stream of raw little-endian PCM (s16 or
// f32) on stdin: a line per patch (about 1.86 s of audio) as soon as it has arrived.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <iostream>

#include "timbre/core/error.h"
#include "timbre/core/parallel.h"
#include "timbre/data/audio.h"
#include "timbre/train/classifier.h"

using namespace timbre;

namespace {

std::string describe(const Classifier& classifier, const std::vector<float>& p) {
  const size_t top = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
  char text[128];
  std::snprintf(text, sizeof text, "%s %.1f%%", classifier.genres()[top].c_str(), 100.0 * p[top]);
  return text;
}

// Reads stdin to its end in chunks of about 0.1 s, printing each completed patch's genre.
void classify_stream(const Classifier& classifier, int rate, int channels, const std::string& format) {
  ClassifierStream stream(classifier, rate, channels);
  const size_t bytes_per_sample = format == "s16" ? 2 : 4;
  const size_t frames_per_chunk = static_cast<size_t>(rate) / 10;
  std::vector<char> raw(frames_per_chunk * static_cast<size_t>(channels) * bytes_per_sample);
  std::vector<float> samples;
  size_t patch = 0, carried = 0;  // carried: bytes of an incomplete frame kept for the next read
  while (true) {
    const size_t got = std::fread(raw.data() + carried, 1, raw.size() - carried, stdin) + carried;
    if (got == carried) break;
    const size_t frame_bytes = bytes_per_sample * static_cast<size_t>(channels), frames = got / frame_bytes;
    samples.resize(frames * static_cast<size_t>(channels));
    for (size_t i = 0; i < samples.size(); ++i) {
      if (format == "s16") {
        int16_t v;
        std::memcpy(&v, raw.data() + 2 * i, 2);
        samples[i] = static_cast<float>(v) / 32768.f;
      } else {
        std::memcpy(&samples[i], raw.data() + 4 * i, 4);
      }
    }
    carried = got - frames * frame_bytes;
    std::memmove(raw.data(), raw.data() + frames * frame_bytes, carried);
    for (const Classification& c : stream.push(samples.data(), frames)) {
      std::printf("patch %zu (%.2f-%.2f s): %s\n", patch, patch * stream.window_frames() / double(rate),
                  (patch + 1) * stream.window_frames() / double(rate), describe(classifier, c.probabilities).c_str());
      std::fflush(stdout);
      ++patch;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string checkpoint, file, format = "s16";
  bool stream = false;
  int rate = 44100, channels = 2, threads = 0;
  CLI::App app{"Classifies an audio file, or a raw PCM stream on stdin, with timbre::Classifier.", "classify"};
  app.add_option("checkpoint", checkpoint, "a trainer's checkpoint (best.safetensors)")->required()->check(CLI::ExistingFile);
  app.add_option("file", file, "an audio file (any format libsndfile reads)");
  app.add_flag("--stream", stream, "read raw little-endian PCM from stdin and print a genre per patch");
  app.add_option("--rate", rate, "the stream's sample rate")->check(CLI::Range(1000, 384000))->capture_default_str();
  app.add_option("--channels", channels, "the stream's channels")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--format", format, "the stream's samples: s16 or f32")
      ->check(CLI::IsMember({"s16", "f32"}))
      ->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (default: OMP_NUM_THREADS or every core)")->check(CLI::Range(1, 4096));
  CLI11_PARSE(app, argc, argv);
  try {
    check(stream != !file.empty(), "classify", "give either an audio file or --stream");
    if (threads > 0) set_num_threads(threads);
    const Classifier classifier(checkpoint);
    if (stream) {
      classify_stream(classifier, rate, channels, format);
      return 0;
    }
    const data::Audio audio = data::read_audio(file);
    const Classification c = classifier.classify(audio.samples.data(), static_cast<size_t>(audio.frames()),
                                                 audio.sample_rate, audio.channels);
    std::cout << file << ": " << describe(classifier, c.probabilities) << " (" << c.patches.size() << " patches)\n";
    for (size_t p = 0; p < c.patches.size(); ++p)
      std::cout << "  patch " << p << ": " << describe(classifier, c.patches[p]) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "classify: error: " << e.what() << std::endl;
    return 1;
  }
}
