#include <catch2/catch.hpp>

#include <cmath>

#include "hpcnas/train/reward.hpp"
#include "hpcnas/train/surrogate.hpp"

using namespace hpcnas;

TEST_CASE("surrogate rewards are deterministic, in (0, 1) and spread out", "[surrogate]") {
  train::SurrogateEvaluator a(5, {}, 0), b(5, {}, 0), other(6, {}, 0);
  std::mt19937_64 rng(1);
  double lo = 1, hi = 0;
  int differs = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto g = space::sample_genotype(rng);
    const double r = a.reward_of(g);
    REQUIRE(r > 0);
    REQUIRE(r < 1);
    REQUIRE(r == b.reward_of(g));
    differs += r != other.reward_of(g);
    lo = std::min(lo, r);
    hi = std::max(hi, r);
  }
  CHECK(differs == 1000);
  CHECK(hi - lo > 0.5); // a landscape a strategy can climb
}

TEST_CASE("surrogate evaluation: seeded noise, result fields", "[surrogate]") {
  config::SurrogateConfig cfg;
  cfg.noise = 0.01;
  train::SurrogateEvaluator evaluator(0, cfg, 3);
  train::EvalRequest request{4, train::evaluation_seed(1, 4), space::darts_v2()};
  const auto r1 = evaluator.evaluate(request);
  const auto r2 = evaluator.evaluate(request);
  CHECK(r1.reward == r2.reward);
  CHECK(r1.reward != evaluator.reward_of(request.genotype));
  CHECK(std::abs(r1.reward - evaluator.reward_of(request.genotype)) < 0.1);
  CHECK(r1.id == 4);
  CHECK(r1.rank == 3);
  CHECK(r1.status == train::EvalStatus::kOk);
  CHECK(r1.genotype == space::darts_v2());
  CHECK(r1.finished >= r1.started);
}

TEST_CASE("evaluation seeds differ per id and per run seed", "[surrogate]") {
  CHECK(train::evaluation_seed(1, 0) != train::evaluation_seed(1, 1));
  CHECK(train::evaluation_seed(1, 0) != train::evaluation_seed(2, 0));
  CHECK(train::evaluation_seed(1, 7) == train::evaluation_seed(1, 7));
}

TEST_CASE("forced failures come back as error results", "[surrogate]") {
  auto evaluator = train::with_forced_failures(
      std::make_unique<train::SurrogateEvaluator>(0, config::SurrogateConfig{}, 0), {2});
  const auto ok = evaluator->evaluate({1, 11, space::darts_v2()});
  const auto failed = evaluator->evaluate({2, 12, space::darts_v2()});
  CHECK(ok.status == train::EvalStatus::kOk);
  CHECK(failed.status == train::EvalStatus::kError);
  CHECK(failed.id == 2);
  CHECK_THAT(failed.message, Catch::Contains("forced failure"));
}

TEST_CASE("reward forms", "[reward]") {
  train::EvalResult r;
  r.val_accuracy = 0.9;
  r.latency_ms = 20;
  r.params = 1000;
  config::RewardConfig cfg;
  CHECK(train::compute_reward(cfg, r) == 0.9);
  cfg.kind = "latency";
  cfg.target_latency_ms = 10;
  cfg.latency_weight = -0.07;
  CHECK(train::compute_reward(cfg, r) == Approx(0.9 * std::pow(2.0, -0.07)));
  cfg.kind = "params";
  cfg.max_params = 500;
  CHECK(train::compute_reward(cfg, r) == 0.0);
  cfg.max_params = 5000;
  CHECK(train::compute_reward(cfg, r) == 0.9);
  r.status = train::EvalStatus::kDiverged;
  CHECK(train::compute_reward(cfg, r) == 0.0);
}
