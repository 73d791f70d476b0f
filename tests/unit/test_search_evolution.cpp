#include <catch2/catch.hpp>

#include <algorithm>

#include "hpcnas/search/evolution.hpp"
#include "hpcnas/train/surrogate.hpp"
#include "strategy_driver.hpp"

using namespace hpcnas;
using testing::drive;
using testing::result_of;

namespace {

config::SearchConfig evolution_config(std::uint64_t seed, int population = 20, int sample = 5) {
  config::SearchConfig cfg;
  cfg.strategy = "evolution";
  cfg.seed = seed;
  cfg.evolution.population = population;
  cfg.evolution.sample = sample;
  return cfg;
}


int differences(const space::Genotype& a, const space::Genotype& b) {
  const auto x = a.encode(), y = b.encode();
  int n = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    n += x[i] != y[i];
  return n;
}

} // namespace

TEST_CASE("evolution proposals are reproducible from the seed and arrival order",
          "[search][evolution]") {
  const train::SurrogateEvaluator surrogate(7, {}, 0);
  auto a = search::make_strategy(evolution_config(11));
  auto b = search::make_strategy(evolution_config(11));
  auto c = search::make_strategy(evolution_config(12));
  CHECK(a->name() == "evolution");
  const auto from_a = drive(*a, surrogate, 60);
  CHECK((from_a == drive(*b, surrogate, 60)));
  const auto from_c = drive(*c, surrogate, 60);
  int same = 0;
  for (int i = 0; i < 60; ++i)
    same += from_a[i] == from_c[i];
  CHECK(same == 0);
}

TEST_CASE("the tournament picks the best of its sample", "[search][evolution]") {
  std::deque<search::Member> population;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 10; ++i)
    population.push_back({space::sample_genotype(rng), 0.1 * ((i * 7) % 10), i});
  std::vector<int> times_drawn(10, 0);
  for (int trial = 0; trial < 500; ++trial) {
    const auto t = search::run_tournament(population, 3, rng);
    REQUIRE(t.drawn.size() == 3);
    double best = -1;
    for (auto d : t.drawn) {
      REQUIRE(d < population.size());
      best = std::max(best, population[d].reward);
      ++times_drawn[d];
    }
    REQUIRE(std::find(t.drawn.begin(), t.drawn.end(), t.winner) != t.drawn.end());
    REQUIRE(population[t.winner].reward == best);
  }
  for (int n : times_drawn) // 1500 uniform draws over 10 members
    CHECK(n > 100);
  const auto single = search::run_tournament(population, 1, rng);
  CHECK(single.winner == single.drawn[0]);
  CHECK_THROWS(search::run_tournament({}, 3, rng));
}

TEST_CASE("the oldest member dies, failed children join with reward 0", "[search][evolution]") {
  const auto cfg = evolution_config(1, 4, 2);
  search::EvolutionStrategy s(cfg.seed, cfg.evolution);
  for (int i = 0; i < 6; ++i) {
    auto r = result_of(i, s.propose(), 0.5 + 0.01 * i);
    if (i == 5)
      r.status = train::EvalStatus::kTimeout;
    s.observe(r);
    CHECK(static_cast<int>(s.population().size()) == std::min(i + 1, 4));
  }
  std::vector<std::int64_t> ids;
  for (const auto& m : s.population())
    ids.push_back(m.id);
  CHECK(ids == std::vector<std::int64_t>{2, 3, 4, 5});
  CHECK(s.population().back().reward == 0);
  CHECK(s.population().front().reward == Approx(0.52));
}

TEST_CASE("random until the population is proposed, then one-edit mutations of members",
          "[search][evolution]") {
  const auto cfg = evolution_config(3, 10, 3);
  search::EvolutionStrategy s(cfg.seed, cfg.evolution);
  const train::SurrogateEvaluator surrogate(3, {}, 0);
  // Asynchronous: more proposals than the population before any result arrives never waits.
  std::vector<space::Architecture> out;
  for (int i = 0; i < 12; ++i)
    out.push_back(s.propose());
  CHECK(s.proposed() == 12);
  std::mt19937_64 random_rng(train::evaluation_seed(cfg.seed, -4));
  for (int i = 0; i < 12; ++i) // population empty: all random, from the strategy's generator
    CHECK(out[i] == space::sample_genotype(random_rng));
  for (int i = 0; i < 12; ++i)
    s.observe(result_of(i, out[i], surrogate.reward_of(out[i])));
  CHECK(s.observed() == 12);
  for (int i = 0; i < 100; ++i) {
    const auto child = s.propose();
    REQUIRE_NOTHROW(child.image().validate());
    bool one_edit_of_member = false;
    for (const auto& m : s.population())
      one_edit_of_member =
          one_edit_of_member || differences(child.image(), m.genotype.image()) == 1;
    REQUIRE(one_edit_of_member);
    s.observe(result_of(12 + i, child, surrogate.reward_of(child)));
  }
}

TEST_CASE("evolution climbs the surrogate landscape", "[search][evolution]") {
  const train::SurrogateEvaluator surrogate(5, {}, 0);
  auto cfg = evolution_config(5);
  search::EvolutionStrategy s(cfg.seed, cfg.evolution);
  const auto proposals = drive(s, surrogate, 300);
  double first = 0, last = 0;
  for (int i = 0; i < 20; ++i)
    first += surrogate.reward_of(proposals[i]) / 20;
  for (int i = 280; i < 300; ++i)
    last += surrogate.reward_of(proposals[i]) / 20;
  INFO("mean reward of the first 20: " << first << ", of the last 20: " << last);
  CHECK(last > first + 0.1);
}

TEST_CASE("evolution state round trip continues with the same proposals", "[search][evolution]") {
  const train::SurrogateEvaluator surrogate(4, {}, 0);
  const auto cfg = evolution_config(9, 8, 3);
  search::EvolutionStrategy a(cfg.seed, cfg.evolution);
  drive(a, surrogate, 15);
  const auto out_with_trainer = a.propose();
  const auto state = a.save_state();
  search::EvolutionStrategy b(cfg.seed, cfg.evolution);
  b.load_state(state);
  CHECK((b.population() == a.population()));
  CHECK(b.proposed() == 16);
  CHECK(b.observed() == 15);
  a.observe(result_of(15, out_with_trainer, surrogate.reward_of(out_with_trainer)));
  b.observe(result_of(15, out_with_trainer, surrogate.reward_of(out_with_trainer)));
  CHECK((drive(a, surrogate, 30, 16) == drive(b, surrogate, 30, 16)));

  CHECK_THROWS_WITH(b.load_state({'x'}), Catch::Contains("evolution strategy: corrupt"));
  auto truncated = state;
  truncated.resize(truncated.size() - 40);
  CHECK_THROWS(b.load_state(truncated));
  const auto smaller = evolution_config(9, 4, 3);
  search::EvolutionStrategy c(smaller.seed, smaller.evolution);
  CHECK_THROWS(c.load_state(state));
}
