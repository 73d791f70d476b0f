#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "hpcnas/search/asha.hpp"
#include "hpcnas/search/dispatcher.hpp"
#include "hpcnas/train/surrogate.hpp"
#include "strategy_driver.hpp"

using namespace hpcnas;
using testing::kill_and_resume;
using testing::run_one_trainer;

namespace {

space::Genotype genotype(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return space::sample_genotype(rng);
}

/// Random search that counts the results it observes.
class CountingStrategy : public search::RandomStrategy {
public:
  using RandomStrategy::RandomStrategy;
  void observe(const train::EvalResult& result) override { observed.push_back(result.id); }
  std::vector<std::int64_t> observed;
};

} // namespace

TEST_CASE("ASHA's rungs multiply by eta up to the maximum", "[search][asha]") {
  CHECK(search::asha_rungs(1, 27, 3) == std::vector<int>{1, 3, 9, 27});
  CHECK(search::asha_rungs(1, 10, 3) == std::vector<int>{1, 3, 9, 10});
  CHECK(search::asha_rungs(2, 16, 2) == std::vector<int>{2, 4, 8, 16});
  CHECK(search::asha_rungs(5, 5, 4) == std::vector<int>{5});
  CHECK_THROWS(search::asha_rungs(0, 5, 3));
  CHECK_THROWS(search::asha_rungs(3, 2, 3));
  CHECK_THROWS(search::asha_rungs(1, 9, 1));
}

TEST_CASE("ASHA promotes the top 1/eta of a rung as soon as they are known, each once",
          "[search][asha]") {
  search::AshaScheduler asha({1, 3, 9}, 3);
  asha.record(0, genotype(0), 0, 0.50, true);
  asha.record(1, genotype(1), 0, 0.70, true);
  CHECK_FALSE(asha.promote()); // 2 results: the top third is empty
  asha.record(2, genotype(2), 0, 0.60, true);
  auto p = asha.promote();
  REQUIRE(p);
  CHECK(p->from == 1);
  CHECK(p->rung == 1);
  CHECK(p->genotype == genotype(1));
  CHECK_FALSE(asha.promote()); // id 1 went on already; 3 results have one in their top third
  asha.record(3, genotype(3), 0, 0.90, false); // failed: never promoted
  asha.record(4, genotype(4), 0, 0.10, true);
  asha.record(5, genotype(5), 0, 0.65, true);
  p = asha.promote(); // the top 2 of 6 are ids 1 (promoted) and 5
  REQUIRE(p);
  CHECK(p->from == 5);
  CHECK_FALSE(asha.promote());

  // A higher rung goes first.
  asha.record(6, genotype(1), 1, 0.72, true);
  asha.record(7, genotype(5), 1, 0.80, true);
  for (std::int64_t id = 8; id < 11; ++id)
    asha.record(id, genotype(id), 0, 0.2, true);
  asha.record(11, genotype(11), 1, 0.75, true);
  p = asha.promote();
  REQUIRE(p);
  CHECK(p->from == 7);
  CHECK(p->rung == 2);
  p = asha.promote(); // then rung 0's top 3 of 9: ids 1, 5 promoted, then id 2 (0.60)
  REQUIRE(p);
  CHECK(p->from == 2);
  CHECK(p->rung == 1);
}

TEST_CASE("ASHA's state round-trips and refuses other rungs", "[search][asha]") {
  search::AshaScheduler asha({1, 4}, 4);
  for (std::int64_t id = 0; id < 8; ++id)
    asha.record(id, genotype(id), 0, 0.1 * static_cast<double>(id % 5), id != 3);
  REQUIRE(asha.promote());
  search::AshaScheduler copy({1, 4}, 4);
  copy.load_state(asha.save_state());
  CHECK(copy.save_state() == asha.save_state());
  const auto a = asha.promote();
  const auto b = copy.promote();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->from == b->from);
  search::AshaScheduler other({1, 3}, 3);
  CHECK_THROWS(other.load_state(asha.save_state()));
  CHECK_THROWS(copy.load_state("hpcnas-asha-v1\n4 2 1 4\n1\n0 0.5 1 0 1,2,3\n0\n"));
}

TEST_CASE("with ASHA the dispatcher continues promoted children and the strategy sees only new "
          "ones",
          "[search][asha]") {
  train::SurrogateEvaluator evaluator(0, {}, 1, 9);
  CountingStrategy strategy(2);
  search::Dispatcher d(strategy, 40, 2, {}, {0, {1, 3, 9}, 3});
  const auto rows = run_one_trainer(d, evaluator);
  REQUIRE(rows.size() == 40);
  std::map<std::int64_t, train::EvalResult> by_id;
  std::vector<std::int64_t> fresh;
  int promotions = 0;
  for (const auto& row : rows) {
    by_id[row.id] = row;
    if (row.continues < 0) {
      CHECK(row.epochs == 1);
      fresh.push_back(row.id);
      continue;
    }
    ++promotions;
    REQUIRE(by_id.count(row.continues) == 1);
    const train::EvalResult& from = by_id[row.continues];
    CHECK(row.genotype == from.genotype);
    CHECK(row.epochs == (from.epochs == 1 ? 3 : 9));
  }
  CHECK(promotions >= 10); // about 1/eta + 1/eta^2 of the rows
  CHECK(strategy.observed == fresh);
  // The first promotion comes with the third result, without waiting for a rung to fill.
  CHECK(rows[3].continues >= 0);
}

TEST_CASE("a search with ASHA resumes exactly, promotions included", "[search][asha]") {
  train::SurrogateEvaluator evaluator(3, {}, 1, 27);
  for (const std::string name : {"random", "evolution"}) {
    DYNAMIC_SECTION(name) {
      config::SearchConfig cfg;
      cfg.strategy = name;
      cfg.seed = 4;
      cfg.evolution.population = 5;
      cfg.evolution.sample = 2;
      constexpr std::int64_t kBudget = 45;
      const search::Fidelity fidelity{0, {1, 3, 9, 27}, 3};
      const testing::DispatcherFactory make = [&](search::Strategy& strategy) {
        return search::Dispatcher(strategy, kBudget, cfg.seed, {}, fidelity);
      };
      auto reference_strategy = search::make_strategy(cfg);
      search::Dispatcher reference = make(*reference_strategy);
      const auto expected = run_one_trainer(reference, evaluator);
      search::DispatchState checkpoint;
      const auto rows = kill_and_resume(cfg, make, evaluator, 31, 20, &checkpoint);
      CHECK_FALSE(checkpoint.scheduler_state.empty());
      REQUIRE(rows.size() == expected.size());
      for (std::size_t i = 0; i < rows.size(); ++i) {
        CHECK(rows[i].genotype == expected[i].genotype);
        CHECK(rows[i].epochs == expected[i].epochs);
        CHECK(rows[i].continues == expected[i].continues);
        CHECK(rows[i].reward == expected[i].reward);
      }
    }
  }
}
