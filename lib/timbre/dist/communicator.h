// Data parallelism across processes: a Communicator joins the processes of one
// job (ranks 0..world_size-1) for the collectives that data-parallel training
// needs (barrier, all-reduce, broadcast). Backends: MPI (host buffers; device
// buffers are staged through the host), NCCL (CUDA buffers, bootstrapped
// through MPI: rank 0 makes the ncclUniqueId and broadcasts it), and a
// single-process one (world size 1) for builds without MPI and programs not
// started by mpirun/srun. See docs/distributed.md for launching.
//
// Every rank must call the same collectives in the same order with the same
// sizes. A rank that dies or exits without finalize() ends the whole job (MPI's
// errors-are-fatal); on an error that only some ranks see, call abort().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "timbre/core/tensor.h"

namespace timbre::dist {

enum class ReduceOp { sum, average };

enum class Backend {
  automatic,  // MPI (NCCL where asked for by device) when launched by mpirun/srun and built with MPI, else single
  single,     // this process alone: world size 1
  mpi,
  nccl,
};
std::string backend_name(Backend backend);
// Parses "auto", "single", "mpi" or "nccl"; throws timbre::Error on anything else.
Backend parse_backend(const std::string& spec);

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual Backend backend() const = 0;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Rank and count of this job's processes on this machine (choose the GPU with local_rank()).
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  bool is_root() const { return rank() == 0; }

  virtual void barrier() = 0;
  // In place: every rank ends with the sum (or average) over ranks of `count`
  // values of `dtype` (f32 or f64) at `data`, which lives on `device`.
  virtual void all_reduce(void* data, int64_t count, DType dtype, ReduceOp op, Device device) = 0;
  // Copies `bytes` at `data` on rank `root` into `data` on every other rank.
  virtual void broadcast(void* data, size_t bytes, int root, Device device) = 0;
  // Ends every rank of the job with `exit_code` (MPI_Abort): for an error only this rank saw.
  [[noreturn]] virtual void abort(int exit_code) = 0;

  // The same on a whole tensor (f32 or f64 for all_reduce).
  void all_reduce(const Tensor& t, ReduceOp op);
  void broadcast(const Tensor& t, int root = 0);
  // Host values, e.g. per-rank loss sums and correct counts: the reduced values, same on every rank.
  std::vector<double> all_reduce(std::vector<double> values, ReduceOp op);
  double all_reduce(double value, ReduceOp op) { return all_reduce(std::vector<double>{value}, op)[0]; }
};

// Joins the job. `automatic` picks MPI when this process was started by an MPI
// launcher (mpirun, mpiexec, srun) and the library was built with MPI, NCCL
// instead when `device` is a CUDA device and NCCL was built in; otherwise the
// single-process communicator. Asking for mpi or nccl without them in the
// build is a timbre::Error. The NCCL backend makes device `device.index` (set
// it from the local rank, see local_rank_hint()) the current CUDA device.
// MPI is initialised once per process (thread level "funneled": only the
// thread that called init() may use a communicator).
std::unique_ptr<Communicator> init(Backend backend = Backend::automatic, Device device = Device::cpu());
// Shuts MPI down if init() started it. Destroy every communicator first. All ranks must call it.
void finalize();

bool built_with_mpi();
bool built_with_nccl();
// True when an MPI launcher started this process (its environment variables are set).
bool launched_by_mpi();
// This process's rank on its machine from the launcher's environment (before
// init(), to pick a GPU: Device::cuda(local_rank_hint() % cuda_device_count())); 0 when not launched.
int local_rank_hint();

}  // namespace timbre::dist
