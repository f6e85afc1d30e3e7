// Internal to lib/timbre/dist: the MPI and NCCL communicators' factories (their
// implementations need mpi.h and nccl.h, which the public headers must not).
#pragma once

#include <memory>

#include "timbre/dist/communicator.h"

namespace timbre::dist::detail {

// Initialises MPI if needed; the communicator spans MPI_COMM_WORLD.
std::unique_ptr<Communicator> make_mpi_communicator();
// NCCL over MPI_COMM_WORLD on CUDA device `device_index`; host buffers go through MPI.
std::unique_ptr<Communicator> make_nccl_communicator(int device_index);
void finalize_mpi();

// Scales `count` host values of `dtype` by `factor` (the average after a sum).
void scale_host(void* data, int64_t count, DType dtype, double factor);

}  // namespace timbre::dist::detail
