// The NCCL backend: collectives on CUDA buffers through NCCL, host buffers
// through MPI, which also bootstraps NCCL (rank 0 makes the unique id and
// broadcasts it). Compiled only in a CUDA build with MPI and NCCL found.
#ifdef TIMBRE_WITH_NCCL

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdlib>

#include "timbre/dist/backends.h"

namespace timbre::dist::detail {

namespace {

void check_nccl(ncclResult_t code, const char* what) {
  check(code == ncclSuccess, "dist (NCCL)", what, " failed: ", ncclGetErrorString(code));
}

void check_cuda(cudaError_t code, const char* what) {
  check(code == cudaSuccess, "dist (NCCL)", what, " failed: ", cudaGetErrorString(code));
}

class NcclCommunicator final : public Communicator {
 public:
  explicit NcclCommunicator(int device_index) : mpi_(make_mpi_communicator()), device_index_(device_index) {
    int devices = 0;
    check_cuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
    check(device_index >= 0 && device_index < devices, "dist::init", "rank ", mpi_->rank(), " asked for CUDA device ",
          device_index, " but this machine has ", devices);
    check_cuda(cudaSetDevice(device_index), "cudaSetDevice");
    ncclUniqueId id;
    if (mpi_->is_root()) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    mpi_->broadcast(&id, sizeof id, 0, Device::cpu());
    check_nccl(ncclCommInitRank(&comm_, mpi_->world_size(), id, mpi_->rank()), "ncclCommInitRank");
  }
  ~NcclCommunicator() override { ncclCommDestroy(comm_); }

  Backend backend() const override { return Backend::nccl; }
  int rank() const override { return mpi_->rank(); }
  int world_size() const override { return mpi_->world_size(); }
  int local_rank() const override { return mpi_->local_rank(); }
  int local_size() const override { return mpi_->local_size(); }
  void barrier() override { mpi_->barrier(); }

  void all_reduce(void* data, int64_t count, DType dtype, ReduceOp op, Device device) override {
    if (device.is_cpu()) return mpi_->all_reduce(data, count, dtype, op, device);
    check_device(device);
    check(count >= 0, "dist::all_reduce", "negative count ", count);
    // The library's kernels run on the default stream; so does NCCL here, and
    // the call returns with the result in place, as the MPI backend's does.
    check_nccl(ncclAllReduce(data, data, static_cast<size_t>(count), dtype == DType::f32 ? ncclFloat32 : ncclFloat64,
                             op == ReduceOp::sum ? ncclSum : ncclAvg, comm_, nullptr),
               "ncclAllReduce");
    check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize after ncclAllReduce");
  }

  void broadcast(void* data, size_t bytes, int root, Device device) override {
    if (device.is_cpu()) return mpi_->broadcast(data, bytes, root, device);
    check_device(device);
    check(root >= 0 && root < world_size(), "dist::broadcast", "root rank ", root, " out of range for world size ",
          world_size());
    check_nccl(ncclBroadcast(data, data, bytes, ncclUint8, root, comm_, nullptr), "ncclBroadcast");
    check_cuda(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize after ncclBroadcast");
  }

  [[noreturn]] void abort(int exit_code) override {
    ncclCommAbort(comm_);
    mpi_->abort(exit_code);
    std::exit(exit_code);  // not reached (GCC does not carry [[noreturn]] through a virtual call)
  }

 private:
  void check_device(Device device) const {
    check(device == Device::cuda(device_index_), "dist (NCCL)", "rank ", rank(), "'s communicator works on cuda:",
          device_index_, ", got a buffer on ", device.str());
  }

  std::unique_ptr<Communicator> mpi_;
  int device_index_;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(int device_index) {
  return std::make_unique<NcclCommunicator>(device_index);
}

}  // namespace timbre::dist::detail

#endif  // TIMBRE_WITH_NCCL
