#include "timbre/dist/communicator.h"

#include <cstdlib>

#include "timbre/dist/backends.h"

namespace timbre::dist {

namespace {

// World size 1: every collective leaves the data as it is.
class SingleProcessCommunicator final : public Communicator {
 public:
  Backend backend() const override { return Backend::single; }
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  void barrier() override {}
  void all_reduce(void*, int64_t count, DType, ReduceOp, Device) override {
    check(count >= 0, "dist::all_reduce", "negative count ", count);
  }
  void broadcast(void*, size_t, int root, Device) override {
    check(root == 0, "dist::broadcast", "root rank ", root, " out of range for world size 1");
  }
  [[noreturn]] void abort(int exit_code) override { std::exit(exit_code); }
};

// The environment variables by which launchers tell a process its place in a job.
const char* env(const char* name) { return std::getenv(name); }

}  // namespace

std::string backend_name(Backend backend) {
  switch (backend) {
    case Backend::automatic: return "auto";
    case Backend::single: return "single";
    case Backend::mpi: return "mpi";
    case Backend::nccl: return "nccl";
  }
  return "?";
}

Backend parse_backend(const std::string& spec) {
  for (Backend b : {Backend::automatic, Backend::single, Backend::mpi, Backend::nccl})
    if (spec == backend_name(b)) return b;
  fail("dist: unknown backend \"" + spec + "\"; expected auto, single, mpi or nccl");
}

void Communicator::all_reduce(const Tensor& t, ReduceOp op) {
  all_reduce(t.raw_data(), t.numel(), t.dtype(), op, t.device());
}

void Communicator::broadcast(const Tensor& t, int root) { broadcast(t.raw_data(), t.bytes(), root, t.device()); }

std::vector<double> Communicator::all_reduce(std::vector<double> values, ReduceOp op) {
  all_reduce(values.data(), static_cast<int64_t>(values.size()), DType::f64, op, Device::cpu());
  return values;
}

bool built_with_mpi() {
#ifdef TIMBRE_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool built_with_nccl() {
#ifdef TIMBRE_WITH_NCCL
  return true;
#else
  return false;
#endif
}

bool launched_by_mpi() {
  // Open MPI, MPICH/Intel MPI (PMI), PMIx launchers (srun --mpi=pmix), MVAPICH.
  return env("OMPI_COMM_WORLD_SIZE") || env("PMI_SIZE") || env("PMIX_RANK") || env("MV2_COMM_WORLD_SIZE");
}

int local_rank_hint() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "MV2_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"})
    if (const char* value = env(name)) return std::atoi(value);
  return 0;
}

std::unique_ptr<Communicator> init(Backend backend, Device device) {
  if (backend == Backend::automatic) {
    // srun without an MPI plugin starts independent copies that would each train alone.
    const char* slurm_tasks = env("SLURM_STEP_NUM_TASKS");
    check(launched_by_mpi() || !slurm_tasks || std::atoi(slurm_tasks) <= 1, "dist::init", "srun started ",
          slurm_tasks ? slurm_tasks : "", " tasks without an MPI plugin, so they cannot join one job: use srun "
          "--mpi=pmix (see srun --mpi=list) with timbre built with MPI, or Backend::single to train them independently");
    if (!built_with_mpi() || !launched_by_mpi())
      backend = Backend::single;
    else
      backend = device.is_cuda() && built_with_nccl() ? Backend::nccl : Backend::mpi;
  }
  switch (backend) {
    case Backend::single: return std::make_unique<SingleProcessCommunicator>();
    case Backend::mpi:
#ifdef TIMBRE_WITH_MPI
      return detail::make_mpi_communicator();
#else
      fail("dist::init: the MPI backend was asked for, but timbre was built without MPI "
           "(configure with -DTIMBRE_DISTRIBUTED=ON and an MPI installed)");
#endif
    case Backend::nccl:
      check(device.is_cuda(), "dist::init", "the NCCL backend needs a CUDA device, got ", device.str());
#ifdef TIMBRE_WITH_NCCL
      return detail::make_nccl_communicator(device.index);
#else
      fail("dist::init: the NCCL backend was asked for, but timbre was built without NCCL "
           "(it needs a CUDA build with MPI and NCCL found)");
#endif
    case Backend::automatic: break;
  }
  fail("dist::init: unreachable backend");
}

void finalize() {
#ifdef TIMBRE_WITH_MPI
  detail::finalize_mpi();
#endif
}

namespace detail {

void scale_host(void* data, int64_t count, DType dtype, double factor) {
  visit_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* values = static_cast<T*>(data);
    const T f = static_cast<T>(factor);
    for (int64_t i = 0; i < count; ++i) values[i] *= f;
  });
}

}  // namespace detail

}  // namespace timbre::dist
