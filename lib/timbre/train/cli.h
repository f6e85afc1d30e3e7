// The command line shared by the seed trainers (examples/parallel_cnn.cpp,
// cnn_lstm.cpp, cnn_bilstm.cpp): flags parsed with CLI11, data loaded
// (synthetic audio, a GTZAN folder or the seed's tf.data directories), the
// model and its optimizer built from the seed recipe, then fit().
#pragma once

#include "timbre/models/seed_models.h"

namespace timbre::train {

// Runs the trainer for `model`; returns the process exit status: 0 on success
// (and for --help), non-zero after printing a clear error for a bad flag,
// missing data, an unusable device or a failed run.
int seed_trainer_main(const models::SeedModel& model, int argc, char** argv);

}  // namespace timbre::train
