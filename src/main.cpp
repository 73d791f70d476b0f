#include <csignal>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "hpcnas/app/cli.hpp"
#include "hpcnas/app/signals.hpp"
#include "hpcnas/comm/mpi_context.hpp"

namespace {

/// Every training step frees and allocates the same large activation buffers again. By default
/// glibc hands them back to the system and the next step faults them in page by page, which
/// cost more than the arithmetic of a supernet step here: keep freed memory in the heap.
void retain_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);        // no mmap per large block: serve it from the heap
  mallopt(M_TRIM_THRESHOLD, -1); // never give the heap top back to the system
#endif
}

/// A write past the file-size limit (ulimit -f) would kill the rank with SIGXFSZ and no word of
/// why; ignored, the write fails with EFBIG, and hpcnas reports it and ends the job.
void report_file_size_limit() { std::signal(SIGXFSZ, SIG_IGN); }

} // namespace

int main(int argc, char** argv) {
  retain_freed_memory();
  report_file_size_limit();
  // A search turns SLURM's stop signal into a checkpoint. It may arrive while MPI starts or data
  // loads: catch it from the first instruction, or it kills the job step before any checkpoint.
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "search" || command == "darts" || command == "train")
    hpcnas::app::install_stop_signals();
  hpcnas::comm::MpiContext mpi(&argc, &argv);
  const int code = hpcnas::app::run_cli(mpi, argc, argv);
  mpi.finalize(code);
  return code;
}
