#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "hpcnas/search/dispatcher.hpp"
#include "hpcnas/search/evolution.hpp"
#include "hpcnas/search/hybrid.hpp"
#include "hpcnas/search/qlearning.hpp"
#include "hpcnas/train/surrogate.hpp"
#include "strategy_driver.hpp"

using namespace hpcnas;

using testing::kill_and_resume;
using testing::run_one_trainer;

TEST_CASE("a resumed dispatcher continues exactly where a killed one was", "[search]") {
  train::SurrogateEvaluator evaluator(0, {}, 1);
  config::SearchConfig cfg;
  cfg.seed = 5;
  constexpr std::int64_t kBudget = 30;

  auto reference_strategy = search::make_strategy(cfg);
  search::Dispatcher reference(*reference_strategy, kBudget, cfg.seed);
  const auto expected = run_one_trainer(reference, evaluator, kBudget);
  REQUIRE(expected.size() == kBudget);
  CHECK(reference.done());

  // Killed after 17 results, its last checkpoint taken after 10.
  auto killed_strategy = search::make_strategy(cfg);
  search::Dispatcher killed(*killed_strategy, kBudget, cfg.seed);
  search::DispatchState checkpoint;
  auto rows = run_one_trainer(killed, evaluator, 17, 10, &checkpoint);
  CHECK(checkpoint.recorded == 10);
  CHECK(checkpoint.outstanding.size() == 1);  // the one trainer's request

  auto strategy = search::make_strategy(cfg);
  search::Dispatcher resumed(*strategy, kBudget, cfg.seed);
  resumed.restore(checkpoint);
  for (std::size_t i = 10; i < rows.size(); ++i) resumed.replay(rows[i]);
  resumed.owe_outstanding();
  CHECK(resumed.outstanding() == 1);
  const auto rest = run_one_trainer(resumed, evaluator, kBudget);
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

TEST_CASE("a lost evaluation replays without the request its trainer never asked for",
          "[search]") {
  train::SurrogateEvaluator evaluator(0, {}, 1);
  config::SearchConfig cfg;
  cfg.strategy = "evolution";
  cfg.evolution.population = 4;
  cfg.evolution.sample = 2;
  constexpr std::int64_t kBudget = 12;

  // Two trainers primed, then the checkpoint; the second trainer dies and its evaluation is
  // recorded as lost; the first goes on alone.
  auto live_strategy = search::make_strategy(cfg);
  search::Dispatcher live(*live_strategy, kBudget, cfg.seed);
  auto first = live.next_request();
  const auto second = live.next_request();
  const search::DispatchState checkpoint = live.save();
  std::vector<train::EvalResult> rows;
  train::EvalResult lost;
  lost.id = second->id;
  lost.genotype = second->genotype;
  lost.status = train::EvalStatus::kLost;
  live.accept(lost);
  rows.push_back(lost);
  for (int i = 0; i < 5; ++i) {
    rows.push_back(evaluator.evaluate(*first));
    live.accept(rows.back());
    first = live.next_request();
  }
  CHECK(live.outstanding() == 1);

  auto strategy = search::make_strategy(cfg);
  search::Dispatcher resumed(*strategy, kBudget, cfg.seed);
  resumed.restore(checkpoint);
  for (const auto& row : rows)
    resumed.replay(row);
  resumed.owe_outstanding();
  CHECK(resumed.recorded() == live.recorded());
  REQUIRE(resumed.outstanding() == 1);
  const auto again = resumed.next_request();
  REQUIRE(again);
  CHECK(again->id == first->id);
  CHECK(again->genotype == first->genotype);
  // Both go on proposing the same architectures under the same ids.
  train::EvalResult live_result = evaluator.evaluate(*first);
  train::EvalResult resumed_result = evaluator.evaluate(*again);
  live.accept(live_result);
  resumed.accept(resumed_result);
  const auto live_next = live.next_request();
  const auto resumed_next = resumed.next_request();
  REQUIRE(live_next);
  REQUIRE(resumed_next);
  CHECK(resumed_next->id == live_next->id);
  CHECK(resumed_next->genotype == live_next->genotype);
}

namespace {

/// A stand-in proxy: any fixed function of the genotype serves (ties are frequent, which the
/// tie rule has to settle).
double encoding_sum(const space::Architecture& genotype) {
  const auto encoding = genotype.encode();
  return std::accumulate(encoding.begin(), encoding.end(), 0.0);
}

/// Random search that counts what it was told to forget.
class CountingStrategy : public search::RandomStrategy {
public:
  using RandomStrategy::RandomStrategy;
  void discard(const space::Architecture& genotype) override { discarded.push_back(genotype); }
  std::vector<space::Architecture> discarded;
};

} // namespace

TEST_CASE("a prefilter hands out the best of its candidates and the rest are discarded",
          "[search]") {
  train::SurrogateEvaluator evaluator(0, {}, 1);
  CountingStrategy strategy(3);
  search::Dispatcher d(strategy, 8, 3, {4, encoding_sum});
  search::RandomStrategy same(3); // draws what `strategy` draws
  for (int child = 0; child < 8; ++child) {
    std::vector<space::Architecture> candidates;
    std::size_t best = 0;
    for (int i = 0; i < 4; ++i) {
      candidates.push_back(same.propose());
      if (encoding_sum(candidates[i]) > encoding_sum(candidates[best]))
        best = static_cast<std::size_t>(i);
    }
    const auto request = d.next_request();
    REQUIRE(request);
    CHECK(request->genotype == candidates[best]);
    CHECK(strategy.discarded.size() == 3 * static_cast<std::size_t>(child + 1));
    train::EvalResult result = evaluator.evaluate(*request);
    CHECK(std::isnan(result.proxy_score)); // the trainer does not know it
    d.accept(result);
    CHECK(result.proxy_score == encoding_sum(candidates[best]));
  }
}

TEST_CASE("a NaN proxy score ranks below every number", "[search]") {
  search::RandomStrategy strategy(4);
  search::RandomStrategy same(4);
  int calls = 0;
  auto score = [&calls](const space::Architecture&) {
    return ++calls == 1 ? std::numeric_limits<double>::quiet_NaN() : -1e300;
  };
  search::Dispatcher d(strategy, 1, 4, {2, score});
  same.propose();
  CHECK(d.next_request()->genotype == same.propose());
}

TEST_CASE("strategies count only the children a prefilter sends", "[search]") {
  config::SearchConfig cfg;
  cfg.evolution.population = 5;
  cfg.evolution.sample = 2;
  train::SurrogateEvaluator evaluator(0, {}, 1);
  auto run_prefiltered = [&](search::Strategy& strategy, int children) {
    search::Dispatcher d(strategy, 100, 1, {3, encoding_sum});
    for (int i = 0; i < children; ++i) {
      train::EvalResult result = evaluator.evaluate(*d.next_request());
      d.accept(result);
    }
  };
  search::EvolutionStrategy evolution(1, cfg.evolution);
  run_prefiltered(evolution, 7);
  CHECK(evolution.proposed() == 7);
  CHECK(evolution.observed() == 7);

  search::HybridStrategy hybrid(1, cfg.evolution, cfg.hybrid);
  run_prefiltered(hybrid, 12);
  CHECK(hybrid.mutations_out() == 0); // every mutation sent came back; none discarded waits

  search::QLearningStrategy counted(1, cfg.qlearning, 20);
  search::QLearningStrategy plain(1, cfg.qlearning, 20);
  run_prefiltered(counted, 6);
  for (int i = 0; i < 6; ++i)
    plain.propose();
  CHECK(counted.epsilon() == plain.epsilon());
}

TEST_CASE("a prefiltered search resumes exactly, proxy scores included", "[search]") {
  train::SurrogateEvaluator evaluator(0, {}, 1);
  for (const std::string name : {"random", "evolution", "qlearning", "hybrid"}) {
    DYNAMIC_SECTION(name) {
      config::SearchConfig cfg;
      cfg.strategy = name;
      cfg.seed = 9;
      cfg.evolution.population = 4;
      cfg.evolution.sample = 2;
      constexpr std::int64_t kBudget = 24;
      const search::Prefilter prefilter{3, encoding_sum};

      const testing::DispatcherFactory make = [&](search::Strategy& strategy) {
        return search::Dispatcher(strategy, kBudget, cfg.seed, prefilter);
      };
      auto reference_strategy = search::make_strategy(cfg);
      search::Dispatcher reference = make(*reference_strategy);
      const auto expected = run_one_trainer(reference, evaluator);
      search::DispatchState checkpoint;
      const auto rows = kill_and_resume(cfg, make, evaluator, 15, 9, &checkpoint);
      REQUIRE(checkpoint.outstanding.size() == 1);
      CHECK(checkpoint.outstanding.begin()->second.proxy_score ==
            encoding_sum(checkpoint.outstanding.begin()->second.genotype));
      REQUIRE(rows.size() == expected.size());
      for (std::size_t i = 0; i < rows.size(); ++i) {
        CHECK(rows[i].genotype == expected[i].genotype);
        CHECK(rows[i].proxy_score == expected[i].proxy_score);
        CHECK(rows[i].proxy_score == encoding_sum(rows[i].genotype));
      }
    }
  }
}
