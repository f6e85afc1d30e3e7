// Trains the seed's P2, the CNN-BiLSTM, on synthetic audio by default:
//   cnn_bilstm --out runs/cnn_bilstm                 (--help lists every flag)
//   cnn_bilstm --data path/to/gtzan --genres blues,classical,country,disco,hiphop,jazz,metal,pop
//   cnn_bilstm --train-tfdata train/ --val-tfdata val/    (the seed's saved tf.data directories)
// The model itself is timbre::models::cnn_bilstm() in lib/timbre/models/seed_models.cpp.
#include "timbre/models/seed_models.h"
#include "timbre/train/cli.h"

int main(int argc, char** argv) {
  return timbre::train::seed_trainer_main(timbre::models::seed_model("cnn_bilstm"), argc, argv);
}
