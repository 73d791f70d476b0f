// The NCCL backend of Collective. Compiled to nothing unless CMake found CUDA and NCCL and
// defined HPCNAS_WITH_NCCL (see CMakeLists.txt); the CPU build never sees nccl.h.
#ifdef HPCNAS_WITH_NCCL

#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include <string>

#include "hpcnas/comm/collective.hpp"

namespace hpcnas::comm {
namespace {

void check_cuda(cudaError_t code, const char* call) {
  if (code != cudaSuccess)
    throw CollectiveError(std::string(call) + ": " + cudaGetErrorString(code));
}

void check_nccl(ncclResult_t code, const char* call) {
  if (code != ncclSuccess)
    throw CollectiveError(std::string(call) + ": " + ncclGetErrorString(code));
}

void check_mpi(int code, const char* call) {
  if (code != MPI_SUCCESS)
    throw CollectiveError(std::string(call) + " failed with MPI error " + std::to_string(code));
}

ncclDataType_t nccl_type(DataType type) {
  switch (type) {
  case DataType::kFloat64:
    return ncclFloat64;
  case DataType::kFloat32:
    return ncclFloat32;
  case DataType::kByte:
    return ncclUint8;
  }
  throw CollectiveError("unknown collective data type");
}

/// Index of this rank among the ranks of its node.
int local_rank() {
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  int rank = 0;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_free(&node);
  return rank;
}

class NcclCollective : public Collective {
public:
  NcclCollective() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // Bind a GPU, then agree: a rank that failed must not leave the others in the broadcast.
    const int node_rank = local_rank();
    std::string error;
    try {
      int devices = 0;
      check_cuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
      if (devices == 0)
        throw CollectiveError("cudaGetDeviceCount: no CUDA device");
      device_ = node_rank % devices;
      check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    } catch (const CollectiveError& e) {
      error = e.what();
    }
    int failed = error.empty() ? 0 : 1;
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD),
              "MPI_Allreduce(GPU binding)");
    if (failed)
      throw CollectiveError(error.empty() ? "another rank could not bind a GPU"
                                          : error + " on rank " + std::to_string(rank_));
    ncclUniqueId id;
    if (rank_ == 0)
      check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    check_mpi(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast(ncclUniqueId)");
    check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }

  ~NcclCollective() override {
    if (stream_ != nullptr)
      cudaStreamDestroy(stream_);
    if (comm_ != nullptr)
      ncclCommDestroy(comm_);
  }

  void allreduce_sum(void* data, std::size_t count, DataType type) override {
    if (type == DataType::kByte)
      throw CollectiveError("ncclAllReduce: bytes cannot be summed");
    if (count == 0)
      return;
    // The producer of `data` ran on the current (LibTorch) stream: finish it first.
    check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    check_nccl(ncclAllReduce(data, data, count, nccl_type(type), ncclSum, comm_, stream_),
               "ncclAllReduce");
    check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

  void broadcast(void* data, std::size_t count, DataType type, int root) override {
    if (count == 0)
      return;
    check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    check_nccl(ncclBroadcast(data, data, count, nccl_type(type), root, comm_, stream_),
               "ncclBroadcast");
    check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "nccl"; }
  int cuda_device() const override { return device_; }

private:
  int rank_ = 0;
  int size_ = 1;
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

} // namespace

bool nccl_available() { return true; }

std::unique_ptr<Collective> make_nccl_collective() { return std::make_unique<NcclCollective>(); }

} // namespace hpcnas::comm

#endif // HPCNAS_WITH_NCCL
