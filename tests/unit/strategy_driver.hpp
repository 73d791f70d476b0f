#pragma once
// Shared by the strategy tests: a result as a strategy sees it, a loop that proposes, scores
// with the surrogate and observes, and the pool's one-trainer loop with a kill and a resume.

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "hpcnas/search/dispatcher.hpp"
#include "hpcnas/search/strategy.hpp"
#include "hpcnas/train/surrogate.hpp"

namespace hpcnas::testing {

inline train::EvalResult result_of(std::int64_t id, const space::Architecture& g, double reward) {
  train::EvalResult r;
  r.id = id;
  r.genotype = g;
  r.reward = reward;
  return r;
}

/// Proposes, scores with the surrogate and observes `steps` times; returns the proposals.
inline std::vector<space::Architecture> drive(search::Strategy& s,
                                              const train::SurrogateEvaluator& surrogate, int steps,
                                              std::int64_t first_id = 0) {
  std::vector<space::Architecture> out;
  for (int i = 0; i < steps; ++i) {
    const auto g = s.propose();
    out.push_back(g);
    s.observe(result_of(first_id + i, g, surrogate.reward_of(g)));
  }
  return out;
}

/// One trainer, as the pool runs it: accept a result, then hand out the next request. Stops
/// after `stop_after` results (a kill), saving a checkpoint after `save_at` when `saved` is given.
inline std::vector<train::EvalResult>
run_one_trainer(search::Dispatcher& d, train::Evaluator& evaluator,
                std::int64_t stop_after = std::numeric_limits<std::int64_t>::max(),
                std::int64_t save_at = -1, search::DispatchState* saved = nullptr) {
  std::vector<train::EvalResult> rows;
  auto request = d.next_request();
  while (request && static_cast<std::int64_t>(rows.size()) < stop_after) {
    rows.push_back(evaluator.evaluate(*request));
    d.accept(rows.back());
    request = d.next_request();
    if (saved != nullptr && static_cast<std::int64_t>(rows.size()) == save_at)
      *saved = d.save();
  }
  return rows;
}

/// A dispatcher over the given strategy, as the test configures it.
using DispatcherFactory = std::function<search::Dispatcher(search::Strategy&)>;

/// A search of `cfg`'s strategy killed after `kill_after` results, its newest checkpoint taken
/// after `checkpoint_at`, then resumed from that checkpoint as `hpcnas search --resume` does
/// (restore, replay the rows after it, owe what was out) and run to its budget: every row in
/// order. The checkpoint is returned through `checkpoint` when given.
inline std::vector<train::EvalResult>
kill_and_resume(const config::SearchConfig& cfg, const DispatcherFactory& make,
                train::Evaluator& evaluator, std::int64_t kill_after, std::int64_t checkpoint_at,
                search::DispatchState* checkpoint = nullptr) {
  search::DispatchState saved;
  auto killed_strategy = search::make_strategy(cfg);
  search::Dispatcher killed = make(*killed_strategy);
  auto rows = run_one_trainer(killed, evaluator, kill_after, checkpoint_at, &saved);
  auto strategy = search::make_strategy(cfg);
  search::Dispatcher resumed = make(*strategy);
  resumed.restore(saved);
  for (std::size_t i = static_cast<std::size_t>(checkpoint_at); i < rows.size(); ++i)
    resumed.replay(rows[i]);
  resumed.owe_outstanding();
  const auto rest = run_one_trainer(resumed, evaluator);
  rows.insert(rows.end(), rest.begin(), rest.end());
  if (checkpoint != nullptr)
    *checkpoint = saved;
  return rows;
}

} // namespace hpcnas::testing
