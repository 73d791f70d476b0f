#include <catch2/catch.hpp>

#include "hpcnas/search/dispatcher.hpp"
#include "hpcnas/train/surrogate.hpp"

using namespace hpcnas;

namespace {

/// One trainer, as the pool runs it: accept a result, then hand out the next request.
/// Stops after `stop_after` results (a kill), optionally saving a checkpoint after `save_at`.
std::vector<train::EvalResult> run(search::Dispatcher& d, train::Evaluator& evaluator,
                                   std::int64_t stop_after, std::int64_t save_at = -1,
                                   search::DispatchState* saved = nullptr) {
  std::vector<train::EvalResult> rows;
  auto request = d.next_request();
  while (request && static_cast<std::int64_t>(rows.size()) < stop_after) {
    rows.push_back(evaluator.evaluate(*request));
    d.accept(rows.back());
    request = d.next_request();
    if (static_cast<std::int64_t>(rows.size()) == save_at) *saved = d.save();
  }
  return rows;
}

}  // namespace

TEST_CASE("a resumed dispatcher continues exactly where a killed one was", "[search]") {
  train::SurrogateEvaluator evaluator(0, {}, 1);
  config::SearchConfig cfg;
  cfg.seed = 5;
  constexpr std::int64_t kBudget = 30;

  auto reference_strategy = search::make_strategy(cfg);
  search::Dispatcher reference(*reference_strategy, kBudget, cfg.seed);
  const auto expected = run(reference, evaluator, kBudget);
  REQUIRE(expected.size() == kBudget);
  CHECK(reference.done());

  // Killed after 17 results, its last checkpoint taken after 10.
  auto killed_strategy = search::make_strategy(cfg);
  search::Dispatcher killed(*killed_strategy, kBudget, cfg.seed);
  search::DispatchState checkpoint;
  auto rows = run(killed, evaluator, 17, 10, &checkpoint);
  CHECK(checkpoint.recorded == 10);
  CHECK(checkpoint.outstanding.size() == 1);  // the one trainer's request

  auto strategy = search::make_strategy(cfg);
  search::Dispatcher resumed(*strategy, kBudget, cfg.seed);
  resumed.restore(checkpoint);
  for (std::size_t i = 10; i < rows.size(); ++i) resumed.replay(rows[i]);
  resumed.owe_outstanding();
  CHECK(resumed.outstanding() == 1);
  const auto rest = run(resumed, evaluator, kBudget);
  rows.insert(rows.end(), rest.begin(), rest.end());

  REQUIRE(rows.size() == expected.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].id == expected[i].id);
    CHECK(rows[i].genotype == expected[i].genotype);
    CHECK(rows[i].reward == expected[i].reward);
  }
  CHECK(resumed.done());
}

TEST_CASE("owed evaluations go out first, with their id and genotype", "[search]") {
  config::SearchConfig cfg;
  auto strategy = search::make_strategy(cfg);
  search::Dispatcher d(*strategy, 10, 1);
  const auto a = d.next_request();
  const auto b = d.next_request();
  const auto state = d.save();

  auto strategy2 = search::make_strategy(cfg);
  search::Dispatcher resumed(*strategy2, 10, 1);
  resumed.restore(state);
  resumed.owe_outstanding();
  const auto again_a = resumed.next_request();
  const auto again_b = resumed.next_request();
  REQUIRE(again_a);
  REQUIRE(again_b);
  CHECK(again_a->id == a->id);
  CHECK(again_a->seed == a->seed);
  CHECK(again_a->genotype == a->genotype);
  CHECK(again_b->id == b->id);
  CHECK(resumed.next_request()->id == 2);  // then new proposals
}

TEST_CASE("the budget bounds the ids handed out", "[search]") {
  config::SearchConfig cfg;
  auto strategy = search::make_strategy(cfg);
  search::Dispatcher d(*strategy, 2, 1);
  CHECK(d.next_request());
  CHECK(d.next_request());
  CHECK_FALSE(d.next_request());
}
