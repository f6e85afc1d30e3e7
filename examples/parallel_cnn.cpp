// Trains the seed's P1.1, the shallow parallel CNN, on synthetic audio by default:
//   parallel_cnn --out runs/parallel_cnn                 (--help lists every flag)
//   parallel_cnn --data path/to/gtzan --genres blues,classical,country,disco,hiphop,jazz,metal,pop
//   parallel_cnn --train-tfdata train/ --val-tfdata val/    (the seed's saved tf.data directories)
// The model itself is timbre::models::parallel_cnn() in lib/timbre/models/seed_models.cpp.
#include "timbre/models/seed_models.h"
#include "timbre/train/cli.h"

int main(int argc, char** argv) {
  return timbre::train::seed_trainer_main(timbre::models::seed_model("parallel_cnn"), argc, argv);
}
