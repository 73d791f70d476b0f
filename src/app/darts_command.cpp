#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/comm/collective.hpp"
#include "hpcnas/darts/early_stop.hpp"
#include "hpcnas/darts/search.hpp"
#include "hpcnas/darts/supernet.hpp"
#include "hpcnas/store/darts_file.hpp"

namespace hpcnas::app {

namespace {

constexpr int kCollapseSkips = 3; ///< skip connections in the normal cell that signal collapse

store::DartsEpochRow to_row(const darts::EpochRecord& r) {
  store::DartsEpochRow row;
  row.epoch = r.epoch;
  row.steps = r.steps;
  row.genotype = r.genotype.to_string();
  row.learning_rate = r.learning_rate;
  row.train_loss = r.train_loss;
  row.train_accuracy = r.train_accuracy;
  row.val_loss = r.val_loss;
  row.val_accuracy = r.val_accuracy;
  row.epoch_seconds = r.seconds;
  row.step_seconds = r.step_seconds;
  row.allreduce_seconds = r.allreduce_seconds;
  row.allreduce_seconds_max = r.allreduce_seconds_max;
  row.normal_skip_connections = r.normal_skip_connections;
  row.alpha_normal = r.alpha_normal;
  row.alpha_reduce = r.alpha_reduce;
  return row;
}

} // namespace

int run_darts(const comm::MpiContext& ctx, const config::Parsed<config::DartsConfig>& parsed,
              const std::string& command_line) {
  const config::DartsConfig& cfg = parsed.config;
  std::unique_ptr<comm::Collective> collective;
  std::unique_ptr<darts::DartsSearch> search;
  std::unique_ptr<store::DartsFile> run_file;

  // Set-up that can fail on bad input (data files, batch split, run file) ends in one agreement:
  // one line from rank 0 and exit 2 everywhere, never a hang.
  const store::RunAttributes attrs{command_line, parsed.resolved, ctx.size(), ctx.count_nodes()};
  std::string error;
  try {
    collective = comm::make_mpi_collective();
    if (ctx.is_controller())
      run_file = std::make_unique<store::DartsFile>(store::DartsFile::create(
          cfg.out, cfg.overwrite, attrs, darts::kEdges, darts::kOps));
    search = std::make_unique<darts::DartsSearch>(cfg, *collective);
  } catch (const std::exception& e) {
    error = e.what();
  }
  error = ctx.agree_on_error(error);
  if (!error.empty()) {
    if (run_file) {
      run_file.reset();
      std::filesystem::remove(cfg.out);
    }
    if (ctx.is_controller())
      std::cerr << "hpcnas darts: error: " << error << std::endl;
    return kExitBadInput;
  }

  if (ctx.is_controller())
    std::cout << "[hpcnas] darts: order=" << cfg.order << " epochs=" << cfg.epochs
              << " batch=" << cfg.batch_size << " ranks=" << ctx.size()
              << " accumulate=" << cfg.accumulate << " C=" << cfg.network.channels
              << " layers=" << cfg.network.layers << " dataset=" << cfg.data.dataset
              << " run file=" << cfg.out << std::endl;
  darts::EarlyStop early_stop(cfg.stop_skips, cfg.stop_stable);
  search->run([&](const darts::EpochRecord& r) {
    // Every rank decides from the same record, so all stop after the same epoch.
    const std::string stop = early_stop.after_epoch(r.genotype, r.normal_skip_connections);
    if (!ctx.is_controller())
      return stop.empty();
    run_file->append(to_row(r));
    std::printf("[hpcnas] epoch %d/%d: train loss %.4f acc %.4f, val loss %.4f acc %.4f, "
                "lr %.5f, %.1f s, normal skip connections %d\n",
                r.epoch + 1, cfg.epochs, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy,
                r.learning_rate, r.seconds, r.normal_skip_connections);
    std::cout << "[hpcnas] genotype: " << r.genotype.to_string() << std::endl;
    if (r.normal_skip_connections >= kCollapseSkips)
      std::cout << "[hpcnas] warning: the normal cell has " << r.normal_skip_connections
                << " skip connections: DARTS may be collapsing towards parameter-free operations"
                << std::endl;
    if (!stop.empty())
      std::cout << "[hpcnas] early stop after epoch " << r.epoch + 1 << ": " << stop << std::endl;
    return stop.empty();
  });
  if (ctx.is_controller())
    std::cout << "[hpcnas] run file: " << std::filesystem::absolute(cfg.out).string() << std::endl;
  return kExitOk;
}

} // namespace hpcnas::app
