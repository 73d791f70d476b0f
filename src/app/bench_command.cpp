#include <cstdio>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/train/trainer.hpp"

namespace hpcnas::app {

int run_bench(const comm::MpiContext& ctx, const config::Parsed<config::BenchConfig>& parsed) {
  const config::BenchConfig& cfg = parsed.config;
  const double median = train::bench_child_step(cfg);
  if (ctx.is_controller())
    std::printf("hpcnas bench what=%s batch=%d threads=%d input=%s steps=%d median_step_s=%.4f\n",
                cfg.what.c_str(), cfg.batch_size, cfg.threads, cfg.input.c_str(), cfg.steps,
                median);
  return kExitOk;
}

} // namespace hpcnas::app
