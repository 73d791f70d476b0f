#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <sys/resource.h>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/darts/search.hpp"
#include "hpcnas/data/dataset.hpp"
#include "hpcnas/retrain/final_training.hpp"
#include "hpcnas/store/run_file.hpp"
#include "hpcnas/store/train_file.hpp"
#include "hpcnas/train/proxy.hpp"
#include "hpcnas/train/trainer.hpp"

namespace hpcnas::app {
namespace {

/// Scores every successful child of a search run file with each zero-cost proxy, initialised as
/// its trainer initialised it (the same seed), on one minibatch of the run's own training split;
/// prints one line per child and, per proxy, Kendall's tau against the trained validation
/// accuracy and the median seconds per child.
int bench_proxies(const comm::MpiContext& ctx, const config::BenchConfig& cfg) {
  verify_run_file(ctx, cfg.from);
  if (store::read_run_kind(cfg.from) != "search")
    throw store::StoreError("--from " + cfg.from + ": not a search run file");
  if (!ctx.is_controller())
    return kExitOk;
  const config::SearchConfig run = config::parse_search({}, store::read_config(cfg.from)).config;
  const data::DataSplits splits = data::load_splits(run.data);
  const torch::Tensor images =
      splits.train.images.narrow(0, 0, std::min<std::int64_t>(cfg.batch_size, splits.train.size()));
  const model::NetworkOptions options =
      train::child_network_options(run.network, splits.channels, splits.num_classes);
  torch::set_num_threads(cfg.threads);

  const std::vector<std::string> proxies{"synflow", "naswot"};
  std::vector<double> accuracy;
  std::vector<std::vector<double>> scores(proxies.size()), seconds(proxies.size());
  std::printf("id val_accuracy %s %s\n", proxies[0].c_str(), proxies[1].c_str());
  for (const store::EvaluationRow& row : store::read_evaluations(cfg.from)) {
    const train::EvalResult& r = row.result;
    if (r.status != train::EvalStatus::kOk)
      continue;
    accuracy.push_back(r.val_accuracy);
    std::printf("%lld %.4f", static_cast<long long>(r.id), r.val_accuracy);
    for (std::size_t p = 0; p < proxies.size(); ++p) {
      const auto start = std::chrono::steady_clock::now();
      const double score = train::proxy_score(proxies[p], r.genotype.image(), options, images,
                                              train::evaluation_seed(run.seed, r.id));
      seconds[p].push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      scores[p].push_back(score);
      std::printf(" %.6g", score);
    }
    std::printf("\n");
  }
  for (std::size_t p = 0; p < proxies.size(); ++p)
    std::printf("hpcnas bench what=proxies proxy=%s from=%s children=%zu batch=%lld "
                "kendall_tau=%.4f median_s=%.4f\n",
                proxies[p].c_str(), cfg.from.c_str(), accuracy.size(),
                static_cast<long long>(images.size(0)), train::kendall_tau(scores[p], accuracy),
                train::median(seconds[p]));
  return kExitOk;
}

/// This process's peak resident memory so far, in MiB (Linux reports ru_maxrss in KiB).
double peak_resident_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

} // namespace

int run_bench(const comm::MpiContext& ctx, const config::Parsed<config::BenchConfig>& parsed) {
  const config::BenchConfig& cfg = parsed.config;
  if (cfg.what == "proxies")
    return bench_proxies(ctx, cfg);
  const double median = cfg.what == "supernet" ? darts::bench_supernet_step(cfg)
                        : cfg.what == "final"  ? retrain::bench_final_step(cfg)
                                               : train::bench_child_step(cfg);
  const std::string supernet =
      cfg.what == "supernet" ? " device=" + cfg.device + " order=" + std::to_string(cfg.order) +
                                   " partial_channels=" + std::to_string(cfg.partial_channels)
                             : "";
  if (ctx.is_controller())
    std::printf("hpcnas bench what=%s%s batch=%d threads=%d input=%s steps=%d "
                "median_step_s=%.4f peak_rss_mb=%.0f\n",
                cfg.what.c_str(), supernet.c_str(), cfg.batch_size, cfg.threads, cfg.input.c_str(),
                cfg.steps, median, peak_resident_mb());
  return kExitOk;
}

} // namespace hpcnas::app
