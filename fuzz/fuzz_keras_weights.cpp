// Keras 3 weight files (lib/timbre/io/keras_weights.h). HDF5 opens paths, so each
// input is written to one scratch file per process (fuzz_support.h) and loaded
// into models built once: a tiny model with every layer the reader knows (Conv2D,
// BatchNormalization, Concatenate, LSTM, Bidirectional(LSTM), Dense), which
// fuzz/corpus/fuzz_keras_weights/tiny.weights.h5 matches, a Dense(3) on (2,),
// which the hostile files there match (cycle, external_*, virtual: the faults
// tests/test_keras_weights.cpp checks), and the seed's three models, which the
// Keras-written fixtures of tests/fixtures/keras match. A file that matches none
// is refused at its first layer, so the extra models cost little.
//
// libhdf5 is not instrumented: a crash inside it is still a finding, reported with
// its stack, but libFuzzer sees no coverage in it, only timbre's own branches.
//
// Two more findings than a crash: an HDF5 identifier the reader leaves open
// (checked after every load: it would also keep the file open, so that the next
// input could be read from HDF5's cache of this one), and a leak of memory that
// timbre allocates. Leaks of memory that libhdf5 itself allocates are not timbre's
// (HDF5 1.10 leaks on some damaged files) and are suppressed below. An identifier
// left open is a finding even where libhdf5 is to blame: when H5Fclose fails, the
// file stays open in a half-closed state that crashes libhdf5 at process exit (and
// on any later use), as fuzz/corpus/fuzz_keras_weights/hdf5-close-fails.weights.h5
// did before keras_weights.cpp refused external raw-data files before opening them.
//
// libhdf5 mallocs sizes that damaged files claim (a local heap of 2^64 - 2^47 bytes:
// fuzz/corpus/fuzz_keras_weights/hdf5-huge-local-heap.weights.h5) and treats a null
// answer as an error. glibc answers null for such sizes; ASan aborts instead. Here
// malloc-family calls over 1 GB (scripts/fuzz.sh's -malloc_limit_mb) return null, so
// libhdf5 takes its error path, while operator new (every timbre allocation: no
// timbre code calls malloc) still reports any size over the limit as a crash.
#include <hdf5.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fuzz_support.h"
#include "timbre/io/keras_weights.h"
#include "timbre/models/seed_models.h"
#include "timbre/nn/containers.h"
#include "timbre/nn/layers.h"
#include "timbre/nn/normalization.h"
#include "timbre/nn/recurrent.h"

namespace {

using namespace timbre::nn;

// Input (4, 4, 1): Concatenate of (3, 3, 2) and (2, 2, 1) flattened, 22 values as 11 steps of 2.
Sequential tiny_model() {
  Sequential model(Concatenate(Sequential(Conv2D(2, {2, 2}), Flatten()),
                               Sequential(Conv2D(1, {3, 3}), BatchNormalization(), Flatten())),
                   Reshape({11, 2}), LSTM(3, /*return_sequences=*/true), Bidirectional(LSTM(2)), Dense(3));
  model.set_name("tiny");
  model.build(timbre::Shape{4, 4, 1});
  return model;
}

std::vector<Sequential>& models() {
  static std::vector<Sequential> all = [] {
    std::vector<Sequential> m;
    m.push_back(tiny_model());
    m.emplace_back(Dense(3));
    m.back().build(timbre::Shape{2});
    for (const timbre::models::SeedModel& seed : timbre::models::seed_models()) m.push_back(seed.make(8));
    return m;
  }();
  return all;
}

}  // namespace

extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1:max_allocation_size_mb=1024"; }

// LeakSanitizer's built-in suppressions: any leak with a libhdf5 frame in its allocation stack.
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5\n"; }

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // the reader silences HDF5 too; this covers H5open's own output
  (void)models();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path path = timbre::fuzz::scratch_dir() / "input.weights.h5";
  timbre::fuzz::write_bytes(path, timbre::fuzz::as_view(data, size));
  for (Sequential& model : models()) {
    timbre::fuzz::expect_clean([&] { timbre::io::load_keras_weights(model, path); });
    const ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open != 0) {
      std::fprintf(stderr, "fuzz_keras_weights: %zd HDF5 identifiers left open after loading into %s\n", open,
                   model.name().c_str());
      std::abort();
    }
  }
  return 0;
}
