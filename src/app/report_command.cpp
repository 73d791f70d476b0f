#include <iostream>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/app/scaling.hpp"

namespace hpcnas::app {

int run_report(const comm::MpiContext& ctx, const config::Parsed<config::ReportConfig>& parsed) {
  // Every rank reads, so a bad file fails on every rank alike (StoreError: one line, exit 2).
  const auto rows = read_scaling(parsed.config.scaling);
  if (ctx.is_controller())
    print_scaling(std::cout, rows, parsed.config.csv);
  return kExitOk;
}

} // namespace hpcnas::app
