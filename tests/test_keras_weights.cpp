// Keras 3 .weights.h5 import and export (lib/timbre/io/keras_weights.h): the
// seed models load Keras-written files and reproduce Keras' outputs; export
// then import round-trips; another architecture's file, a missing file and a
// non-HDF5 file are refused with a clear error, leaving the model unchanged.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include "keras_fixture.h"

using namespace timbre;
using timbre::testing::check_close;
using timbre::testing::keras_fixture_path;
using timbre::testing::load_keras_fixture;

namespace {

// One directory per process (several test runs may share the machine), removed at exit.
struct ScratchDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("timbre_test_keras_weights_" + std::to_string(getpid()));
  ScratchDir() { std::filesystem::create_directories(path); }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

const std::filesystem::path& scratch_dir() {
  static const ScratchDir dir;
  return dir.path;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("keras weights: each seed model imports Keras' file and matches Keras' output", "[keras]") {
  for (const models::SeedModel& seed : models::seed_models()) {
    SECTION(seed.name) {
      const auto f = load_keras_fixture(seed.name + ".safetensors");
      nn::Sequential model = seed.make(8);
      io::load_keras_weights(model, keras_fixture_path(seed.name + ".weights.h5"));
      model.set_training(false);
      check_close(ops::softmax(model(f["x"])), f["probs"], seed.name + " probabilities after import");
    }
  }
}

TEST_CASE("keras weights: export then import gives the same variables", "[keras]") {
  // TIMBRE_KERAS_EXPORT_DIR keeps the exported files and timbre's outputs on the fixture's
  // inputs, for tools/reference/check_keras_weights.py to load into Keras.
  const char* keep = std::getenv("TIMBRE_KERAS_EXPORT_DIR");
  const std::filesystem::path dir = keep ? std::filesystem::path(keep) : scratch_dir();
  for (const models::SeedModel& seed : models::seed_models()) {
    SECTION(seed.name) {
      manual_seed(7);
      nn::Sequential model = seed.make(8);
      const std::filesystem::path file = dir / (seed.name + ".timbre.weights.h5");
      io::save_keras_weights(model, file);
      manual_seed(8);
      nn::Sequential fresh = seed.make(8);
      io::load_keras_weights(fresh, file);
      const std::vector<nn::Variable> want = model.variables(), got = fresh.variables();
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        INFO(want[i].name);
        CHECK(got[i].value.to_vector<float>() == want[i].value.to_vector<float>());
      }
      if (keep) {
        const auto f = load_keras_fixture(seed.name + ".safetensors");
        model.set_training(false);
        io::save_safetensors(dir / (seed.name + ".timbre.probs.safetensors"),
                             {{"x", f["x"]}, {"probs", ops::softmax(model(f["x"]))}});
      }
      if (!keep) std::filesystem::remove(file);
    }
  }
}

TEST_CASE("keras weights: a float64 model imports float32 files and exports float32", "[keras]") {
  manual_seed(3);
  nn::Sequential f32(nn::Dense(4), nn::Dense(3)), f64(nn::Dense(4), nn::Dense(3));
  f32.build(Shape{5});
  f64.build(Shape{5}, DType::f64);
  const auto file = scratch_dir() / "dense_f32.weights.h5";
  io::save_keras_weights(f32, file);
  io::load_keras_weights(f64, file);
  const std::vector<nn::Variable> want = f32.variables(), got = f64.variables();
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].value.dtype() == DType::f64);
    const std::vector<double> w = want[i].value.to_vector<double>();
    CHECK(got[i].value.to_vector<double>() == w);
  }
}

TEST_CASE("keras weights: another architecture's file names the first differing layer", "[keras]") {
  nn::Sequential p2 = models::cnn_bilstm(8);
  const std::string p11_into_p2 =
      error_of([&] { io::load_keras_weights(p2, keras_fixture_path("parallel_cnn.weights.h5")); });
  INFO(p11_into_p2);
  CHECK_THAT(p11_into_p2, Catch::Contains("layer conv2d (Conv2D") && Catch::Contains("(4, 4, 1, 8) in the model") &&
                              Catch::Contains("(8, 8, 1, 3) in the file"));

  // P2's convolutions have P1.2's shapes: the first difference is P1.2's LSTM, absent from P2's file.
  nn::Sequential p12 = models::cnn_lstm(8);
  const std::vector<float> kernel_before = p12.variables().front().value.to_vector<float>();
  const std::string p2_into_p12 =
      error_of([&] { io::load_keras_weights(p12, keras_fixture_path("cnn_bilstm.weights.h5")); });
  INFO(p2_into_p12);
  CHECK_THAT(p2_into_p12, Catch::Contains("layer lstm (LSTM") && Catch::Contains("is not in the file"));
  CHECK(p12.variables().front().value.to_vector<float>() == kernel_before);  // unchanged on failure

  // P1.2's first convolution is 4x4 with 8 filters, P1.1's 8x8 with 3.
  nn::Sequential p11 = models::parallel_cnn(8);
  CHECK_THAT(error_of([&] { io::load_keras_weights(p11, keras_fixture_path("cnn_lstm.weights.h5")); }),
             Catch::Contains("layer conv2d (Conv2D") && Catch::Contains("(8, 8, 1, 3) in the model"));

  // A file with every layer the model has plus one more is refused too.
  nn::Sequential two_dense(nn::Dense(4), nn::Dense(3)), one_dense(nn::Dense(4));
  two_dense.build(Shape{5});
  one_dense.build(Shape{5});
  const auto file = scratch_dir() / "two_dense.weights.h5";
  io::save_keras_weights(two_dense, file);
  CHECK_THAT(error_of([&] { io::load_keras_weights(one_dense, file); }),
             Catch::Contains("weights for layers/dense_1, which the model lacks"));
  std::filesystem::remove(file);
}

TEST_CASE("keras weights: bad files and unbuilt models", "[keras]") {
  nn::Sequential model = models::parallel_cnn(8);
  CHECK_THAT(error_of([&] { io::load_keras_weights(model, scratch_dir() / "missing.weights.h5"); }),
             Catch::Contains("no such file"));
  const auto text = scratch_dir() / "text.weights.h5";
  std::ofstream(text) << "not hdf5";
  CHECK_THAT(error_of([&] { io::load_keras_weights(model, text); }), Catch::Contains("not an HDF5 file"));
  std::filesystem::remove(text);
  // An HDF5 file without Keras' layout.
  const auto not_keras = scratch_dir() / "empty.weights.h5";
  nn::Sequential empty_model{nn::Flatten()};
  empty_model.build(Shape{2, 2});
  io::save_keras_weights(empty_model, not_keras);
  CHECK_THAT(error_of([&] { io::load_keras_weights(model, not_keras); }),
             Catch::Contains("is not in the file"));
  std::filesystem::remove(not_keras);
  nn::Sequential unbuilt(nn::Dense(3));
  CHECK_THAT(error_of([&] { io::load_keras_weights(unbuilt, keras_fixture_path("parallel_cnn.weights.h5")); }),
             Catch::Contains("not built"));
}

// Hostile files for a Dense(3) on (2,), written with the HDF5 API (one fault each) and kept
// in fuzz/corpus/fuzz_keras_weights, which seeds fuzz_keras_weights. Before the checks in
// keras_weights.cpp the external-storage file loaded 12 bytes of /proc/self/environ as the
// bias, the virtual one loaded another dataset's values, the external link made HDF5 open
// another file (other.weights.h5, absent here), and the cycle (layers/extra/loop is
// layers/extra) recursed without end.
TEST_CASE("keras weights: values or links outside the file and cycles of links are refused", "[keras][fuzz]") {
  const std::filesystem::path corpus =
      std::filesystem::path(TIMBRE_FIXTURES) / ".." / ".." / "fuzz" / "corpus" / "fuzz_keras_weights";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"external_storage.weights.h5", "layers/dense/vars/1 keeps its values in external raw-data files"},
      {"virtual.weights.h5", "layers/dense/vars/1 is a virtual dataset"},
      {"external_link.weights.h5", "layers/dense/vars/0 is reached through a soft or external link"},
      {"cycle.weights.h5", "nests groups more than 16 deep"},
  };
  for (const auto& [file, problem] : cases) {
    SECTION(file) {
      manual_seed(5);
      nn::Sequential model(nn::Dense(3));
      model.build(Shape{2});
      const std::vector<float> bias = model.variables().at(1).value.to_vector<float>();
      const std::string message = error_of([&] { io::load_keras_weights(model, corpus / file); });
      INFO(message);
      CHECK_THAT(message, Catch::Contains(file) && Catch::Contains(problem));
      CHECK(model.variables().at(1).value.to_vector<float>() == bias);  // unchanged
    }
  }
}

// fuzz_keras_weights made this file from its seeds: the bias's External Data Files message
// damaged. H5Dopen2 decoded it, failed, and left a metadata-cache entry pinned, so H5Fclose
// failed too: the file stayed open half closed and libhdf5 1.10.8 crashed at process exit
// (SIGSEGV in H5F__close_cb from H5_term_library), after load_keras_weights had thrown.
// keras_weights.cpp now refuses the message from the header's list of message types,
// before H5Dopen2; if that regresses, this test binary crashes at exit.
TEST_CASE("keras weights: a damaged external-file list is refused before HDF5 decodes it", "[keras][fuzz]") {
  const std::filesystem::path file = std::filesystem::path(TIMBRE_FIXTURES) / ".." / ".." / "fuzz" / "corpus" /
                                     "fuzz_keras_weights" / "hdf5-close-fails.weights.h5";
  nn::Sequential model(nn::Dense(3));
  model.build(Shape{2});
  CHECK_THAT(error_of([&] { io::load_keras_weights(model, file); }),
             Catch::Contains("hdf5-close-fails.weights.h5") &&
                 Catch::Contains("layers/dense/vars/1 keeps its values in external raw-data files"));
}
