#include "hpcnas/comm/mpi_context.hpp"

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace hpcnas::comm {

MpiContext::MpiContext(int* argc, char*** argv) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    MPI_Init(argc, argv);
    owns_mpi_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiContext::~MpiContext() {
  if (owns_mpi_)
    MPI_Finalize();
}

void MpiContext::finalize(int exit_code) {
  if (!owns_mpi_)
    return;
  owns_mpi_ = false;
  std::thread([exit_code] {
    std::this_thread::sleep_for(std::chrono::seconds(kFinalizeSeconds));
    std::fflush(nullptr);
    std::_Exit(exit_code);
  }).detach();
  MPI_Finalize();
}

std::string MpiContext::agree_on_error(const std::string& local_error) const {
  const int mine = local_error.empty() ? size_ : rank_;
  int first_failed = size_;
  MPI_Allreduce(&mine, &first_failed, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first_failed == size_)
    return "";
  std::vector<char> text(local_error.begin(), local_error.end());
  int length = static_cast<int>(text.size());
  MPI_Bcast(&length, 1, MPI_INT, first_failed, MPI_COMM_WORLD);
  text.resize(length);
  MPI_Bcast(text.data(), length, MPI_CHAR, first_failed, MPI_COMM_WORLD);
  const std::string where = size_ > 1 ? "rank " + std::to_string(first_failed) + ": " : "";
  return where + std::string(text.begin(), text.end());
}

int MpiContext::count_nodes() const {
  // SLURM names the node a task runs on; that also tells apart emulated nodes on one host.
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  if (const char* slurm_node = std::getenv("SLURMD_NODENAME")) {
    std::strncpy(name, slurm_node, sizeof(name) - 1);
  } else {
    int length = 0;
    MPI_Get_processor_name(name, &length);
  }
  std::vector<char> names(rank_ == 0 ? static_cast<std::size_t>(size_) * sizeof(name) : 0);
  MPI_Gather(name, sizeof(name), MPI_CHAR, names.data(), sizeof(name), MPI_CHAR, 0,
             MPI_COMM_WORLD);
  int count = 0;
  if (rank_ == 0) {
    std::set<std::string> distinct;
    for (int r = 0; r < size_; ++r)
      distinct.insert(std::string(names.data() + r * sizeof(name)));
    count = static_cast<int>(distinct.size());
  }
  MPI_Bcast(&count, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return count;
}

void MpiContext::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

} // namespace hpcnas::comm
