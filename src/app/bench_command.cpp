#include <cstdio>
#include <string>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/darts/search.hpp"
#include "hpcnas/train/trainer.hpp"

namespace hpcnas::app {

int run_bench(const comm::MpiContext& ctx, const config::Parsed<config::BenchConfig>& parsed) {
  const config::BenchConfig& cfg = parsed.config;
  const double median =
      cfg.what == "supernet" ? darts::bench_supernet_step(cfg) : train::bench_child_step(cfg);
  const std::string supernet =
      cfg.what == "supernet" ? " device=" + cfg.device + " order=" + std::to_string(cfg.order) +
                                   " partial_channels=" + std::to_string(cfg.partial_channels)
                             : "";
  if (ctx.is_controller())
    std::printf("hpcnas bench what=%s%s batch=%d threads=%d input=%s steps=%d "
                "median_step_s=%.4f\n",
                cfg.what.c_str(), supernet.c_str(), cfg.batch_size, cfg.threads, cfg.input.c_str(),
                cfg.steps, median);
  return kExitOk;
}

} // namespace hpcnas::app
