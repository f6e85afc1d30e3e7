// The seed's three models: Keras' parameter totals and output shapes.
#include <catch2/catch.hpp>
#include <sstream>

#include "timbre/models/seed_models.h"

using namespace timbre;

TEST_CASE("seed models match Keras' parameter totals", "[seed_models]") {
  for (const models::SeedModel& spec : models::seed_models()) {
    INFO(spec.name);
    nn::Sequential model = spec.make(8);
    CHECK(model.input_shape() == Shape{80, 80, 1});
    CHECK(model.output_shape() == Shape{8});
    CHECK(model.parameter_count(true) + model.parameter_count(false) == spec.keras_parameters);
    std::ostringstream summary;
    model.summary(summary);
    std::string total = std::to_string(spec.keras_parameters);
    total.insert(total.size() - 3, ",");
    CHECK(summary.str().find("Total params: " + total + " ") != std::string::npos);
  }
  CHECK(models::seed_model("parallel_cnn").keras_parameters == 54'255);
  CHECK(models::seed_model("cnn_lstm").keras_parameters == 98'510);
  CHECK(models::seed_model("cnn_bilstm").keras_parameters == 245'894);
  // P2's BatchNorm moving statistics are Keras' non-trainable parameters: 2 x (8 + 6) x 2.
  CHECK(models::cnn_bilstm().parameter_count(false) == 28);
}

TEST_CASE("seed models give logits for a batch", "[seed_models]") {
  for (const models::SeedModel& spec : models::seed_models()) {
    INFO(spec.name);
    nn::Sequential model = spec.make(8);
    model.set_training(false);
    const Tensor logits = model(Tensor::full({2, 80, 80, 1}, 0.5));
    CHECK(logits.shape() == Shape{2, 8});
  }
}

TEST_CASE("seed_model rejects unknown names and builds the recipe's optimizer", "[seed_models][bad-input]") {
  CHECK_THROWS_WITH(models::seed_model("resnet"), Catch::Contains("parallel_cnn, cnn_lstm, cnn_bilstm"));
  nn::Sequential model = models::parallel_cnn();
  auto sgd = models::make_optimizer(models::seed_model("parallel_cnn"), model.trainable_parameters(), 0.01);
  CHECK(sgd->state().contains("velocity"));
  nn::Sequential p2 = models::cnn_bilstm();
  auto adam = models::make_optimizer(models::seed_model("cnn_bilstm"), p2.trainable_parameters(), 1e-3);
  CHECK(adam->state().contains("m"));
  CHECK(adam->learning_rate() == 1e-3);
}
