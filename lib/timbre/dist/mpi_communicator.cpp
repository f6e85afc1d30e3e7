// The MPI backend (and the MPI half of the NCCL one): compiled only when MPI was found.
#ifdef TIMBRE_WITH_MPI

// The C API only: C++ compilers would otherwise pull in the deprecated MPI C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <vector>

#include "timbre/dist/backends.h"

namespace timbre::dist::detail {

namespace {

bool mpi_started_here = false;

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail(std::string("dist (MPI): ") + what + " failed: " + std::string(text, static_cast<size_t>(length)));
}

void ensure_mpi_initialized() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  mpi_started_here = true;
}

MPI_Datatype mpi_type(DType dtype) { return dtype == DType::f32 ? MPI_FLOAT : MPI_DOUBLE; }

// MPI counts are int: large buffers go in pieces.
constexpr int64_t max_piece = std::numeric_limits<int>::max() / 8;

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator() {
    ensure_mpi_initialized();
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &world_), "MPI_Comm_dup");
    check_mpi(MPI_Comm_rank(world_, &rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(world_, &size_), "MPI_Comm_size");
    // The ranks that share this machine's memory: the local rank picks a GPU.
    MPI_Comm local;
    check_mpi(MPI_Comm_split_type(world_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local), "MPI_Comm_split_type");
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&world_);
  }

  Backend backend() const override { return Backend::mpi; }
  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  void barrier() override { check_mpi(MPI_Barrier(world_), "MPI_Barrier"); }

  void all_reduce(void* data, int64_t count, DType dtype, ReduceOp op, Device device) override {
    check(count >= 0, "dist::all_reduce", "negative count ", count);
    if (count == 0) return;
    // Not every MPI reads GPU memory: device buffers go through the host.
    std::vector<char> staging;
    void* host = data;
    const size_t bytes = static_cast<size_t>(count) * dtype_size(dtype);
    if (!device.is_cpu()) {
      staging.resize(bytes);
      host = staging.data();
      device_memory::copy(host, Device::cpu(), data, device, bytes);
    }
    char* at = static_cast<char*>(host);
    for (int64_t done = 0; done < count;) {
      const int n = static_cast<int>(std::min(max_piece, count - done));
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, at + done * dtype_size(dtype), n, mpi_type(dtype), MPI_SUM, world_),
                "MPI_Allreduce");
      done += n;
    }
    if (op == ReduceOp::average && size_ > 1) scale_host(host, count, dtype, 1.0 / size_);
    if (!device.is_cpu()) device_memory::copy(data, device, host, Device::cpu(), bytes);
  }

  void broadcast(void* data, size_t bytes, int root, Device device) override {
    check(root >= 0 && root < size_, "dist::broadcast", "root rank ", root, " out of range for world size ", size_);
    if (bytes == 0) return;
    std::vector<char> staging;
    void* host = data;
    if (!device.is_cpu()) {
      staging.resize(bytes);
      host = staging.data();
      if (rank_ == root) device_memory::copy(host, Device::cpu(), data, device, bytes);
    }
    char* at = static_cast<char*>(host);
    for (size_t done = 0; done < bytes;) {
      const int n = static_cast<int>(std::min<size_t>(static_cast<size_t>(max_piece), bytes - done));
      check_mpi(MPI_Bcast(at + done, n, MPI_BYTE, root, world_), "MPI_Bcast");
      done += static_cast<size_t>(n);
    }
    if (!device.is_cpu() && rank_ != root) device_memory::copy(data, device, host, Device::cpu(), bytes);
  }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::exit(exit_code);  // MPI_Abort does not return; this satisfies [[noreturn]]
  }

 protected:
  MPI_Comm world_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

void finalize_mpi() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized && mpi_started_here) MPI_Finalize();
}

}  // namespace timbre::dist::detail

#endif  // TIMBRE_WITH_MPI
