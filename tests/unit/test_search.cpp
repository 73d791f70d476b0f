#include <catch2/catch.hpp>

#include "hpcnas/search/strategy.hpp"

using namespace hpcnas;

TEST_CASE("random strategy is reproducible from the seed", "[search]") {
  config::SearchConfig cfg;
  cfg.seed = 9;
  auto a = search::make_strategy(cfg), b = search::make_strategy(cfg);
  cfg.seed = 10;
  auto c = search::make_strategy(cfg);
  int same_as_other_seed = 0;
  for (int i = 0; i < 50; ++i) {
    const auto g = a->propose();
    REQUIRE(g == b->propose());
    same_as_other_seed += g == c->propose();
    REQUIRE_NOTHROW(g.image().validate());
  }
  CHECK(same_as_other_seed == 0);
  CHECK(a->name() == "random");
}

TEST_CASE("unknown strategy is refused", "[search]") {
  config::SearchConfig cfg;
  cfg.strategy = "nope";
  CHECK_THROWS_AS(search::make_strategy(cfg), std::invalid_argument);
}

TEST_CASE("random strategy state saves and restores the generator", "[search]") {
  config::SearchConfig cfg;
  auto a = search::make_strategy(cfg);
  a->propose();
  const auto state = a->save_state();
  const auto next = a->propose();
  auto b = search::make_strategy(cfg);
  b->load_state(state);
  CHECK(b->propose() == next);
  CHECK_THROWS(b->load_state({'x'}));
}
