#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/app/progress.hpp"
#include "hpcnas/app/signals.hpp"
#include "hpcnas/comm/collective.hpp"
#include "hpcnas/darts/early_stop.hpp"
#include "hpcnas/darts/recurrent_supernet.hpp"
#include "hpcnas/darts/search.hpp"
#include "hpcnas/darts/supernet.hpp"
#include "hpcnas/store/checkpoint.hpp"
#include "hpcnas/store/darts_file.hpp"

namespace hpcnas::app {

namespace {

constexpr int kCollapseSkips = 3; ///< skip connections in the normal cell that signal collapse

/// The alpha datasets of the run file for cfg.space.
store::AlphaLayout alpha_layout(const config::DartsConfig& cfg) {
  if (cfg.space == "rnn")
    return {true, darts::recurrent_edges(cfg.network.rnn_nodes), darts::kRecurrentOps};
  return {false, darts::kEdges, darts::kOps};
}

/// Rank 0's side of a DARTS search: run file, checkpoints, early stopping and log.
class DartsRecorder {
public:
  DartsRecorder(const config::DartsConfig& cfg, const store::RunAttributes& attrs)
      : cfg_(cfg), config_hash_(checkpoint_hash(attrs.config, cfg.resume.empty() ? "" : cfg.out)),
        early_stop_(cfg.stop_skips, cfg.stop_stable) {
    if (cfg.resume.empty()) {
      run_file_ = std::make_unique<store::DartsFile>(
          store::DartsFile::create(cfg.out, cfg.overwrite, attrs, alpha_layout(cfg)));
      created_ = true;
    } else {
      reopen(attrs.config);
    }
  }

  /// Leaves no empty run file behind when set-up failed on another rank.
  void abandon() {
    if (!created_)
      return;
    run_file_.reset();
    std::filesystem::remove(cfg_.out);
  }

  /// The checkpoint's search state to resume from (empty: start from the beginning).
  const std::vector<char>& resume_state() const { return resume_state_; }

  /// After an epoch: appends it, logs it, and says whether the search goes on.
  bool record(const darts::EpochRecord& r) {
    run_file_->append(r);
    std::printf("[hpcnas] epoch %lld/%d: train loss %.4f acc %.4f, val loss %.4f acc %.4f, "
                "lr %.5f, %.1f s",
                static_cast<long long>(r.epoch + 1), cfg_.epochs, r.train_loss, r.train_accuracy,
                r.val_loss, r.val_accuracy, r.learning_rate, r.epoch_seconds);
    if (!r.genotype.is_recurrent())
      std::printf(", normal skip connections %d", r.normal_skip_connections);
    std::printf("\n");
    std::cout << "[hpcnas] genotype: " << r.genotype.to_string() << std::endl;
    if (r.normal_skip_connections >= kCollapseSkips)
      std::cout << "[hpcnas] warning: the normal cell has " << r.normal_skip_connections
                << " skip connections: DARTS may be collapsing towards parameter-free operations"
                << std::endl;
    const std::string stop = early_stop_.after_epoch(r.genotype, r.normal_skip_connections);
    if (!stop.empty())
      std::cout << "[hpcnas] early stop after epoch " << r.epoch + 1 << ": " << stop << std::endl;
    return stop.empty();
  }

  void checkpoint(const darts::DartsSearch& search, darts::SearchPosition position) {
    const auto start = std::chrono::steady_clock::now();
    store::write_checkpoint(
        cfg_.out, "darts",
        store::EpochCheckpoint{search.save_state(), config_hash_, position.epoch, position.step});
    checkpoint_times_.add(
        1000 * std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  void report(darts::RunEnd end, darts::SearchPosition position) const {
    checkpoint_times_.print(std::cout);
    if (end == darts::RunEnd::kStopped)
      std::cout << "[hpcnas] stopped by signal " << stop_signal_number() << " at epoch "
                << position.epoch + 1 << ", step " << position.step
                << "; checkpoint written; continue with: hpcnas darts --resume " << cfg_.out
                << std::endl;
    else if (end == darts::RunEnd::kAlreadyEnded)
      std::cout << "[hpcnas] this search had already ended early; nothing to do" << std::endl;
    std::cout << "[hpcnas] run file: " << std::filesystem::absolute(cfg_.out).string() << std::endl;
  }

private:
  /// Reopens the run file, checks the options, loads the newest valid checkpoint, drops the
  /// epochs it does not cover (they are computed again) and replays the kept ones into the
  /// early-stop rule.
  void reopen(const config::OptionList& resolved) {
    run_file_ = std::make_unique<store::DartsFile>(store::DartsFile::open_append(cfg_.out));
    const std::string differences =
        config::defining_differences(store::read_config(cfg_.out), resolved);
    if (!differences.empty())
      throw config::ConfigError("--resume " + cfg_.out +
                                ": options differ from the run's: " + differences);
    const auto loaded = store::load_epoch_checkpoint(cfg_.out, "darts");
    const std::int64_t epochs = run_file_->epochs();
    if (!loaded && epochs > 0)
      throw store::StoreError("--resume " + cfg_.out + ": " + std::to_string(epochs) +
                              " epochs but no checkpoint beside it (" +
                              store::checkpoint_path(cfg_.out) + ")");
    const std::int64_t kept = loaded ? loaded->checkpoint.epoch : 0;
    if (loaded) {
      if (loaded->checkpoint.config_hash != config_hash_)
        throw config::ConfigError("--resume " + cfg_.out +
                                  ": the checkpoint was written for other search options");
      if (epochs < kept)
        throw store::StoreError("--resume " + cfg_.out + ": the checkpoint is at epoch " +
                                std::to_string(kept + 1) + " but the run file has only " +
                                std::to_string(epochs) + " epochs");
      if (!loaded->fallback.empty())
        std::cout << "[hpcnas] " << loaded->fallback << "; using the previous checkpoint "
                  << loaded->path << std::endl;
      resume_state_ = loaded->checkpoint.state;
    }
    run_file_->truncate(kept);
    const auto history = store::read_darts(cfg_.out);
    for (const auto& row : history.epochs)
      early_stop_.after_epoch(row.genotype, row.normal_skip_connections);
    std::cout << "[hpcnas] resumed " << cfg_.out << ": "
              << (!loaded ? std::string("no checkpoint, from the beginning")
                  : kept >= cfg_.epochs
                      ? "checkpoint " + loaded->path + " after the last epoch"
                      : "checkpoint " + loaded->path + " at epoch " + std::to_string(kept + 1) +
                            ", step " + std::to_string(loaded->checkpoint.step))
              << "; " << kept << " epochs kept, " << epochs - kept << " to compute again"
              << std::endl;
  }

  const config::DartsConfig& cfg_;
  std::string config_hash_;
  darts::EarlyStop early_stop_;
  std::unique_ptr<store::DartsFile> run_file_;
  std::vector<char> resume_state_;
  bool created_ = false;
  CheckpointTimes checkpoint_times_;
};

} // namespace

int run_darts(const comm::MpiContext& ctx, const config::Parsed<config::DartsConfig>& parsed,
              const std::string& command_line) {
  const config::DartsConfig& cfg = parsed.config;
  std::unique_ptr<comm::Collective> host;        // bookkeeping and saved state: MPI, host memory
  std::unique_ptr<comm::Collective> gpu_tensors; // gradients and parameters on GPUs: NCCL
  std::unique_ptr<darts::DartsSearch> search;
  std::unique_ptr<DartsRecorder> recorder;

  // Set-up that can fail on bad input (data files, batch split, run file, checkpoint) ends in
  // one agreement: one line from rank 0 and exit 2 everywhere, never a hang.
  const store::RunAttributes attrs{command_line, parsed.resolved, ctx.size(), ctx.count_nodes()};
  std::string error;
  try {
    host = comm::make_mpi_collective();
    // First, while every rank is here: its set-up is collective. One rank needs no NCCL.
    if (cfg.device == "cuda" && ctx.size() > 1)
      gpu_tensors = comm::make_nccl_collective();
    if (ctx.is_controller())
      recorder = std::make_unique<DartsRecorder>(cfg, attrs);
    search = std::make_unique<darts::DartsSearch>(cfg, *host, gpu_tensors ? *gpu_tensors : *host);
  } catch (const std::exception& e) {
    error = e.what();
  }
  error = ctx.agree_on_error(error);
  if (error.empty() && !cfg.resume.empty()) {
    // Every rank restores the bytes rank 0 read, so all fail alike or none does.
    try {
      search->resume(recorder ? recorder->resume_state() : std::vector<char>{});
    } catch (const std::exception& e) {
      error = "--resume " + cfg.out + ": " + e.what();
    }
  }
  if (!error.empty()) {
    if (recorder)
      recorder->abandon();
    if (ctx.is_controller())
      std::cerr << "hpcnas darts: error: " << error << std::endl;
    return kExitBadInput;
  }

  return run_together(ctx, "darts", [&] {
    if (ctx.is_controller()) {
      std::cout << "[hpcnas] darts: order=" << cfg.order << " epochs=" << cfg.epochs
                << " batch=" << cfg.batch_size << " ranks=" << ctx.size()
                << " accumulate=" << cfg.accumulate;
      if (cfg.space == "rnn")
        std::cout << " space=rnn nodes=" << cfg.network.rnn_nodes
                  << " embedding=" << cfg.network.embedding << " hidden=" << cfg.network.hidden;
      else
        std::cout << " C=" << cfg.network.channels << " layers=" << cfg.network.layers;
      std::cout << " device=" << cfg.device << (gpu_tensors ? "(nccl)" : "")
                << " dataset=" << cfg.data.dataset << " run file=" << cfg.out << std::endl;
    }
    darts::RunHooks hooks;
    hooks.on_epoch = [&](const darts::EpochRecord& r) { return !recorder || recorder->record(r); };
    hooks.checkpoint = [&](darts::SearchPosition position) {
      if (recorder)
        recorder->checkpoint(*search, position);
    };
    hooks.stop_requested = stop_signalled;
    hooks.checkpoint_seconds = cfg.checkpoint_seconds;
    const darts::RunEnd end = search->run(hooks);
    if (recorder)
      recorder->report(end, search->position());
    return kExitOk;
  });
}

} // namespace hpcnas::app
