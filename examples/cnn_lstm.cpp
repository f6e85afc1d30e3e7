// Trains the seed's P1.2, the CNN-RNN hybrid, on synthetic audio by default:
//   cnn_lstm --out runs/cnn_lstm                 (--help lists every flag)
//   cnn_lstm --data path/to/gtzan --genres blues,classical,country,disco,hiphop,jazz,metal,pop
//   cnn_lstm --train-tfdata train/ --val-tfdata val/    (the seed's saved tf.data directories)
// The model itself is timbre::models::cnn_lstm() in lib/timbre/models/seed_models.cpp.
#include "timbre/models/seed_models.h"
#include "timbre/train/cli.h"

int main(int argc, char** argv) {
  return timbre::train::seed_trainer_main(timbre::models::seed_model("cnn_lstm"), argc, argv);
}
