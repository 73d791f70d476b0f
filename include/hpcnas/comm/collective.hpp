#pragma once
/// Collective operations on flat buffers, for data-parallel training (`hpcnas darts`).
///
/// Data plane only: the control plane (who does what) stays in MpiContext and the pool. A
/// backend sums one contiguous buffer across all ranks in place; callers pack every gradient of
/// a step into one flat buffer, so a step costs one call, not one per tensor.
///
/// Backends, chosen by a factory:
///  - MPI (`make_mpi_collective`): host memory, in-place MPI_Allreduce on MPI_COMM_WORLD.
///  - NCCL (`make_nccl_collective`, only when built with HPCNAS_WITH_NCCL): device memory; the
///    ncclUniqueId is made on rank 0 and broadcast over MPI, and each rank binds the GPU of its
///    local rank (its index among the ranks of its node).
///  - SoloCollective: one process, no MPI; every operation is the identity (tests, bench).
///
/// This header is free of MPI, NCCL and torch: parts that only call a Collective need not link
/// them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace hpcnas::comm {

/// Element type of a buffer. kByte is for broadcasts of serialised state; it cannot be summed.
enum class DataType { kFloat32, kFloat64, kByte };

/// A failed collective call; the message names the call (e.g. "ncclAllReduce: unhandled cuda
/// error").
class CollectiveError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class Collective {
public:
  virtual ~Collective() = default;

  /// Sums `count` elements at `data` over all ranks, in place; every rank gets the sum. Throws
  /// CollectiveError for kByte.
  virtual void allreduce_sum(void* data, std::size_t count, DataType type) = 0;
  /// Copies `count` elements at `data` from rank `root` to every rank.
  virtual void broadcast(void* data, std::size_t count, DataType type, int root) = 0;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// "mpi", "nccl" or "solo".
  virtual std::string name() const = 0;
  /// The CUDA device whose memory the buffers live in, or -1 for host memory.
  virtual int cuda_device() const { return -1; }
};

/// Forwards to another collective and adds up this rank's wall time inside allreduce_sum (for
/// scaling studies: the allreduce's share of a step).
class TimedCollective : public Collective {
public:
  explicit TimedCollective(Collective& inner) : inner_(inner) {}
  void allreduce_sum(void* data, std::size_t count, DataType type) override {
    const auto start = std::chrono::steady_clock::now();
    inner_.allreduce_sum(data, count, type);
    allreduce_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  void broadcast(void* data, std::size_t count, DataType type, int root) override {
    inner_.broadcast(data, count, type, root);
  }
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  std::string name() const override { return inner_.name(); }
  int cuda_device() const override { return inner_.cuda_device(); }
  /// Seconds inside allreduce_sum since construction or the last call, which restarts the sum.
  double take_allreduce_seconds() { return std::exchange(allreduce_seconds_, 0.0); }

private:
  Collective& inner_;
  double allreduce_seconds_ = 0;
};

/// One process: the sum over one rank is the buffer itself.
class SoloCollective : public Collective {
public:
  void allreduce_sum(void*, std::size_t, DataType) override {}
  void broadcast(void*, std::size_t, DataType, int) override {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "solo"; }
};

/// Rank `root`'s bytes on every rank (collective): their size first, then the bytes. Other
/// ranks pass anything (nothing); a saved state is restored this way on every rank.
inline std::vector<char> broadcast_bytes(Collective& collective, std::vector<char> bytes,
                                         int root = 0) {
  std::uint64_t size = bytes.size();
  collective.broadcast(&size, sizeof size, DataType::kByte, root);
  bytes.resize(size);
  if (size > 0)
    collective.broadcast(bytes.data(), bytes.size(), DataType::kByte, root);
  return bytes;
}

/// The MPI backend over MPI_COMM_WORLD (MPI must be initialised, e.g. by MpiContext).
std::unique_ptr<Collective> make_mpi_collective();

/// Whether this build has the NCCL backend (HPCNAS_WITH_NCCL).
bool nccl_available();

/// The NCCL backend over all ranks of MPI_COMM_WORLD (collective): binds the GPU of this rank's
/// local rank, makes the ncclUniqueId on rank 0 and broadcasts it over MPI. Throws
/// CollectiveError when the build has no NCCL or a CUDA/NCCL call fails (the message names the
/// call); a rank without a usable GPU makes every rank throw, so none waits for it.
std::unique_ptr<Collective> make_nccl_collective();

} // namespace hpcnas::comm
