#include <mpi.h>

#include <climits>
#include <string>

#include "hpcnas/comm/collective.hpp"

namespace hpcnas::comm {
namespace {

MPI_Datatype mpi_type(DataType type) {
  switch (type) {
  case DataType::kFloat64:
    return MPI_DOUBLE;
  case DataType::kFloat32:
    return MPI_FLOAT;
  case DataType::kByte:
    return MPI_BYTE;
  }
  throw CollectiveError("unknown collective data type");
}

void check(int code, const char* call) {
  if (code == MPI_SUCCESS)
    return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw CollectiveError(std::string(call) + ": " + std::string(text, length));
}

int checked_count(std::size_t count, const char* call) {
  if (count > static_cast<std::size_t>(INT_MAX))
    throw CollectiveError(std::string(call) + ": buffer of " + std::to_string(count) +
                          " elements exceeds MPI's int count");
  return static_cast<int>(count);
}

class MpiCollective : public Collective {
public:
  MpiCollective() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }

  void allreduce_sum(void* data, std::size_t count, DataType type) override {
    if (type == DataType::kByte)
      throw CollectiveError("MPI_Allreduce: bytes cannot be summed");
    if (size_ == 1 || count == 0)
      return;
    check(MPI_Allreduce(MPI_IN_PLACE, data, checked_count(count, "MPI_Allreduce"), mpi_type(type),
                        MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce");
  }

  void broadcast(void* data, std::size_t count, DataType type, int root) override {
    if (size_ == 1 || count == 0)
      return;
    check(MPI_Bcast(data, checked_count(count, "MPI_Bcast"), mpi_type(type), root, MPI_COMM_WORLD),
          "MPI_Bcast");
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }

private:
  int rank_ = 0;
  int size_ = 1;
};

} // namespace

std::unique_ptr<Collective> make_mpi_collective() { return std::make_unique<MpiCollective>(); }

#ifndef HPCNAS_WITH_NCCL
bool nccl_available() { return false; }

std::unique_ptr<Collective> make_nccl_collective() {
  throw CollectiveError("NCCL backend requested, but this build has no NCCL (configure with "
                        "-DHPCNAS_WITH_NCCL=ON on a machine with CUDA and NCCL)");
}
#endif

} // namespace hpcnas::comm
