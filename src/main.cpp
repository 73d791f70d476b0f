#include "hpcnas/app/cli.hpp"
#include "hpcnas/comm/mpi_context.hpp"

int main(int argc, char** argv) {
  hpcnas::comm::MpiContext mpi(&argc, &argv);
  return hpcnas::app::run_cli(mpi, argc, argv);
}
