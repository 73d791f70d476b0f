#include <string>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/app/signals.hpp"
#include "hpcnas/comm/mpi_context.hpp"

int main(int argc, char** argv) {
  // A search turns SLURM's stop signal into a checkpoint. It may arrive while MPI starts or data
  // loads: catch it from the first instruction, or it kills the job step before any checkpoint.
  if (argc > 1 && (std::string(argv[1]) == "search" || std::string(argv[1]) == "darts"))
    hpcnas::app::install_stop_signals();
  hpcnas::comm::MpiContext mpi(&argc, &argv);
  return hpcnas::app::run_cli(mpi, argc, argv);
}
