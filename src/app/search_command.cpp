#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/app/progress.hpp"
#include "hpcnas/app/signals.hpp"
#include "hpcnas/comm/pool.hpp"
#include "hpcnas/search/dispatcher.hpp"
#include "hpcnas/search/strategy.hpp"
#include "hpcnas/store/checkpoint.hpp"
#include "hpcnas/store/run_file.hpp"
#include "hpcnas/train/prefilter.hpp"
#include "hpcnas/train/surrogate.hpp"
#include "hpcnas/train/trainer.hpp"

namespace hpcnas::app {
namespace {

std::unique_ptr<train::Evaluator> make_evaluator(const config::SearchConfig& cfg, int rank) {
  std::unique_ptr<train::Evaluator> evaluator;
  if (cfg.evaluator == "surrogate") {
    evaluator = std::make_unique<train::SurrogateEvaluator>(
        cfg.surrogate.landscape_seed, cfg.surrogate, rank,
        cfg.scheduler.asha() ? cfg.scheduler.max_epochs : 0);
  } else {
    auto log = std::make_shared<EpochLog>(std::cout, rank, cfg.progress_seconds);
    evaluator = train::make_training_evaluator(
        cfg, rank, [log](const train::EpochProgress& progress) { log->epoch(progress); });
  }
  return train::with_forced_failures(std::move(evaluator), cfg.fail_ids);
}

/// A trainer is lost when unheard for --trainer-timeout, or without a result well past
/// --eval-timeout (after which it should have sent a `timeout` result itself).
comm::TrainerWatch trainer_watch(const config::SearchConfig& cfg) {
  comm::TrainerWatch watch;
  watch.silence_seconds = cfg.trainer_timeout;
  const double timeout = cfg.train.eval_timeout;
  if (timeout > 0)
    watch.result_seconds = timeout + std::max(60.0, 0.25 * timeout);
  return watch;
}

/// Four heartbeats per --trainer-timeout: a heartbeat or two late is no death.
double heartbeat_seconds(const config::SearchConfig& cfg) { return cfg.trainer_timeout / 4; }

search::Prefilter make_prefilter(const config::SearchConfig& cfg) {
  if (cfg.prefilter.proxy == "none")
    return {};
  return {cfg.prefilter.candidates(), train::make_proxy_scorer(cfg)};
}

/// Every child trains --epochs (the surrogate: none), or ASHA's rungs decide.
search::Fidelity make_fidelity(const config::SearchConfig& cfg) {
  const config::SchedulerConfig& s = cfg.scheduler;
  if (s.asha())
    return {0, search::asha_rungs(s.min_epochs, s.max_epochs, s.eta), s.eta};
  return {cfg.evaluator == "surrogate" ? 0 : cfg.train.epochs, {}, s.eta};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Rank 0's side of a search: strategy, dispatcher, run file, checkpoints and log.
class Controller {
public:
  Controller(const config::SearchConfig& cfg, const store::RunAttributes& attrs)
      : cfg_(cfg), config_hash_(checkpoint_hash(attrs.config, cfg.resume.empty() ? "" : cfg.out)),
        strategy_(search::make_strategy(cfg)), fidelity_(make_fidelity(cfg)),
        dispatcher_(*strategy_, cfg.budget, cfg.seed, make_prefilter(cfg), fidelity_),
        progress_(std::cout, cfg.budget,
                  cfg.evaluator == "surrogate" ? "surrogate reward" : "reward",
                  cfg.scheduler.asha()) {
    if (cfg.resume.empty()) {
      run_file_ =
          std::make_unique<store::RunFile>(store::RunFile::create(cfg.out, cfg.overwrite, attrs));
      created_ = true;
    } else {
      resume(attrs.config);
    }
  }

  /// Leaves no empty run file behind when set-up failed on another rank.
  void abandon() {
    if (!created_)
      return;
    run_file_.reset();
    std::filesystem::remove(cfg_.out);
  }

  comm::PoolExit run(const comm::MpiContext& ctx, train::Evaluator* local) {
    std::cout << "[hpcnas] search: strategy=" << strategy_->name()
              << " evaluator=" << cfg_.evaluator << " budget=" << cfg_.budget
              << " ranks=" << ctx.size() << " trainers=" << ctx.trainer_count();
    if (cfg_.scheduler.asha()) {
      std::cout << " scheduler=asha (eta " << cfg_.scheduler.eta << ", rungs";
      for (int epochs : fidelity_.rungs)
        std::cout << ' ' << epochs;
      std::cout << " epochs)";
    }
    if (cfg_.prefilter.proxy != "none")
      std::cout << " prefilter=" << cfg_.prefilter.proxy << " (best of "
                << cfg_.prefilter.candidates() << " candidates per child)";
    std::cout << " run file=" << cfg_.out << std::endl;
    comm::ControllerHooks hooks;
    hooks.record = [this](const train::EvalResult& result, train::ControllerTiming timing) {
      const auto start = std::chrono::steady_clock::now();
      timing.store_seconds = std::exchange(store_seconds_, 0.0);
      run_file_->append(result, timing);
      for (const auto& update : strategy_->take_updates())
        run_file_->append_controller(update);
      store_seconds_ += seconds_since(start);
      progress_.record(result);
    };
    hooks.checkpoint = [this](bool force) {
      const auto start = std::chrono::steady_clock::now();
      checkpoint(force);
      store_seconds_ += seconds_since(start);
    };
    hooks.stop_requested = stop_signalled;
    return comm::run_controller(ctx, dispatcher_, hooks, trainer_watch(cfg_), local);
  }

  void report(comm::PoolExit exit) const {
    checkpoint_times_.print(std::cout);
    if (exit == comm::PoolExit::kStopped) {
      std::cout << "[hpcnas] stopped by signal " << stop_signal_number() << " after "
                << dispatcher_.recorded() << "/" << cfg_.budget
                << " results; checkpoint written; continue with: hpcnas search --resume "
                << cfg_.out << std::endl;
      return;
    }
    if (const auto& best = progress_.best()) {
      std::printf("[hpcnas] best architecture: id %lld, %s %.4f, validation accuracy %.4f\n",
                  static_cast<long long>(best->id),
                  cfg_.evaluator == "surrogate" ? "surrogate reward" : "reward", best->reward,
                  best->val_accuracy);
      std::cout << best->genotype.to_string() << "\n";
    } else {
      std::cout << "[hpcnas] no evaluation succeeded (" << progress_.failures() << " failed)\n";
    }
    std::cout << "[hpcnas] run file: " << std::filesystem::absolute(cfg_.out).string() << std::endl;
  }

private:
  /// Reopens the run file, restores the newest valid checkpoint, and replays into the strategy
  /// the results recorded after it, so the search continues as if it had never stopped.
  void resume(const config::OptionList& resolved) {
    run_file_ = std::make_unique<store::RunFile>(store::RunFile::open_append(cfg_.out));
    const std::string differences =
        config::defining_differences(store::read_config(cfg_.out), resolved);
    if (!differences.empty())
      throw config::ConfigError("--resume " + cfg_.out +
                                ": options differ from the run's: " + differences);
    const auto loaded = store::load_checkpoint(cfg_.out);
    const std::vector<store::EvaluationRow> rows = store::read_evaluations(cfg_.out);
    if (!loaded && !rows.empty())
      throw store::StoreError("--resume " + cfg_.out + ": " + std::to_string(rows.size()) +
                              " rows but no checkpoint beside it (" +
                              store::checkpoint_path(cfg_.out) + ")");
    if (loaded) {
      if (loaded->checkpoint.config_hash != config_hash_)
        throw config::ConfigError("--resume " + cfg_.out +
                                  ": the checkpoint was written for other search options");
      if (!loaded->fallback.empty())
        std::cout << "[hpcnas] " << loaded->fallback << "; using the previous checkpoint "
                  << loaded->path << std::endl;
      dispatcher_.restore(loaded->checkpoint.dispatch);
    }
    const std::int64_t recorded_updates = run_file_->controller_rows();
    const auto from = static_cast<std::size_t>(dispatcher_.recorded());
    for (std::size_t row = 0; row < rows.size(); ++row) {
      const train::EvalResult& result = rows[row].result;
      if (row >= from) {
        dispatcher_.replay(result);
        for (const auto& update : strategy_->take_updates())
          if (update.update >= recorded_updates)
            run_file_->append_controller(update);
      }
      progress_.restore(result);
    }
    dispatcher_.owe_outstanding();
    std::cout << "[hpcnas] resumed " << cfg_.out << ": " << rows.size() << " results recorded, "
              << (loaded ? "checkpoint " + loaded->path + " at " + std::to_string(from)
                         : std::string("no checkpoint"))
              << ", " << rows.size() - from << " replayed, " << dispatcher_.outstanding()
              << " to evaluate again" << std::endl;
  }

  /// Writes a checkpoint when forced, before the first dispatch round is over, or when
  /// --checkpoint-every results or --checkpoint-seconds passed since the last one.
  void checkpoint(bool force) {
    const auto now = std::chrono::steady_clock::now();
    const bool due =
        force || !written_ || dispatcher_.recorded() - last_recorded_ >= cfg_.checkpoint_every ||
        std::chrono::duration<double>(now - last_time_).count() >= cfg_.checkpoint_seconds;
    if (!due)
      return;
    const auto start = std::chrono::steady_clock::now();
    store::write_checkpoint(cfg_.out, {dispatcher_.save(), config_hash_});
    checkpoint_times_.add(1000 * seconds_since(start));
    written_ = true;
    last_recorded_ = dispatcher_.recorded();
    last_time_ = now;
  }

  const config::SearchConfig& cfg_;
  std::string config_hash_;
  std::unique_ptr<search::Strategy> strategy_;
  search::Fidelity fidelity_;
  search::Dispatcher dispatcher_;
  ProgressLog progress_;
  std::unique_ptr<store::RunFile> run_file_;
  bool created_ = false;
  bool written_ = false;
  std::int64_t last_recorded_ = 0;
  std::chrono::steady_clock::time_point last_time_;
  CheckpointTimes checkpoint_times_;
  /// Rank 0's time in HDF5 (rows, controller rows, checkpoints) not yet handed to a row: a row
  /// carries the time spent since the previous one, whose own append is part of it.
  double store_seconds_ = 0;
};

} // namespace

int run_search(const comm::MpiContext& ctx, const config::Parsed<config::SearchConfig>& parsed,
               const std::string& command_line) {
  const config::SearchConfig& cfg = parsed.config;
  std::unique_ptr<Controller> controller;
  std::unique_ptr<train::Evaluator> evaluator;

  // Set-up that can fail on bad input happens before any rank waits on another, and all ranks
  // agree on its outcome: one line from rank 0 and exit 2 everywhere, never a hang.
  const store::RunAttributes attrs{command_line, parsed.resolved, ctx.size(), ctx.count_nodes()};
  std::string error;
  try {
    if (ctx.is_controller())
      controller = std::make_unique<Controller>(cfg, attrs);
    if (ctx.trains())
      evaluator = make_evaluator(cfg, ctx.rank());
  } catch (const std::exception& e) {
    error = e.what();
  }
  error = ctx.agree_on_error(error);
  if (!error.empty()) {
    if (controller)
      controller->abandon();
    if (ctx.is_controller())
      std::cerr << "hpcnas search: error: " << error << std::endl;
    return kExitBadInput;
  }

  return run_together(ctx, "search", [&] {
    if (!ctx.is_controller()) {
      comm::run_trainer(ctx, *evaluator, stop_signalled, heartbeat_seconds(cfg));
      return kExitOk;
    }
    controller->report(controller->run(ctx, evaluator.get()));
    return kExitOk;
  });
}

} // namespace hpcnas::app
