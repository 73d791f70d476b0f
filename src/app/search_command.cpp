#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/app/progress.hpp"
#include "hpcnas/comm/pool.hpp"
#include "hpcnas/search/strategy.hpp"
#include "hpcnas/store/run_file.hpp"
#include "hpcnas/train/surrogate.hpp"
#include "hpcnas/train/trainer.hpp"

namespace hpcnas::app {
namespace {

std::unique_ptr<train::Evaluator> make_evaluator(const config::SearchConfig& cfg, int rank) {
  std::unique_ptr<train::Evaluator> evaluator;
  if (cfg.evaluator == "surrogate")
    evaluator = std::make_unique<train::SurrogateEvaluator>(cfg.surrogate.landscape_seed,
                                                            cfg.surrogate, rank);
  else
    evaluator = train::make_training_evaluator(cfg, rank);
  std::vector<std::int64_t> fail_ids;
  for (long long id : config::parse_id_list(cfg.fail_ids))
    fail_ids.push_back(id);
  return train::with_forced_failures(std::move(evaluator), std::move(fail_ids));
}

} // namespace

int run_search(const comm::MpiContext& ctx, const config::Parsed<config::SearchConfig>& parsed,
               const std::string& command_line) {
  const config::SearchConfig& cfg = parsed.config;
  std::unique_ptr<store::RunFile> run_file;
  std::unique_ptr<search::Strategy> strategy;
  std::unique_ptr<train::Evaluator> evaluator;

  // Set-up that can fail on bad input happens before any rank waits on another, and all ranks
  // agree on its outcome: one line from rank 0 and exit 2 everywhere, never a hang.
  std::string error;
  try {
    if (ctx.is_controller()) {
      strategy = search::make_strategy(cfg);
      run_file = std::make_unique<store::RunFile>(store::RunFile::create(
          cfg.out, cfg.overwrite, store::RunAttributes{command_line, parsed.resolved}));
    }
    if (ctx.trains())
      evaluator = make_evaluator(cfg, ctx.rank());
  } catch (const std::exception& e) {
    error = e.what();
  }
  error = ctx.agree_on_error(error);
  if (!error.empty()) {
    if (run_file) { // created by this run only, and holds nothing: leave no empty run file
      run_file.reset();
      std::filesystem::remove(cfg.out);
    }
    if (ctx.is_controller())
      std::cerr << "hpcnas search: error: " << error << std::endl;
    return kExitBadInput;
  }

  comm::PoolOptions pool;
  pool.budget = cfg.budget;
  pool.run_seed = cfg.seed;
  if (!ctx.is_controller()) {
    comm::run_trainer(ctx, *evaluator);
    return kExitOk;
  }

  const std::string label = cfg.evaluator == "surrogate" ? "surrogate reward" : "reward";
  std::cout << "[hpcnas] search: strategy=" << strategy->name() << " evaluator=" << cfg.evaluator
            << " budget=" << cfg.budget << " ranks=" << ctx.size()
            << " trainers=" << ctx.trainer_count() << " run file=" << cfg.out << std::endl;
  ProgressLog progress(std::cout, cfg.budget, label);
  comm::run_controller(
      ctx, *strategy,
      [&](const train::EvalResult& result) {
        run_file->append(result);
        for (const auto& update : strategy->take_updates()) run_file->append_controller(update);
        progress.record(result);
      },
      pool, evaluator.get());

  if (const auto& best = progress.best()) {
    std::printf("[hpcnas] best architecture: id %lld, %s %.4f, validation accuracy %.4f\n",
                static_cast<long long>(best->id), label.c_str(), best->reward, best->val_accuracy);
    std::cout << best->genotype.to_string() << "\n";
  } else {
    std::cout << "[hpcnas] no evaluation succeeded (" << progress.failures() << " failed)\n";
  }
  std::cout << "[hpcnas] run file: " << std::filesystem::absolute(cfg.out).string() << std::endl;
  return kExitOk;
}

} // namespace hpcnas::app
