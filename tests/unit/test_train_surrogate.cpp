#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

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

namespace {

/// Spearman's rank correlation of two samples without ties.
double rank_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<std::size_t> order(v.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      r[order[i]] = static_cast<double>(i);
    return r;
  };
  const auto rx = ranks(x), ry = ranks(y);
  const double n = static_cast<double>(x.size());
  double d2 = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    d2 += (rx[i] - ry[i]) * (rx[i] - ry[i]);
  return 1 - 6 * d2 / (n * (n * n - 1));
}

} // namespace

TEST_CASE("the surrogate's learning curve: lower and rougher at few epochs, the full reward at "
          "the full fidelity",
          "[surrogate]") {
  train::SurrogateEvaluator curve(2, {}, 0, 27), flat(2, {}, 0);
  std::mt19937_64 rng(8);
  std::vector<double> full;
  std::map<int, std::vector<double>> at;
  for (int i = 0; i < 300; ++i) {
    train::EvalRequest request;
    request.id = i;
    request.seed = train::evaluation_seed(1, i);
    request.genotype = space::sample_genotype(rng);
    full.push_back(curve.reward_of(request.genotype));
    CHECK(flat.evaluate(request).reward == full.back()); // no curve without a full fidelity
    request.epochs = 27;
    CHECK(curve.evaluate(request).reward == full.back());
    for (int epochs : {1, 3, 9}) {
      request.epochs = epochs;
      const double reward = curve.evaluate(request).reward;
      CHECK(reward == curve.evaluate(request).reward); // seeded by the evaluation
      CHECK(reward >= 0);
      at[epochs].push_back(reward);
    }
    const double u = curve.learning_speed(request.genotype.image());
    CHECK(u >= 0.5);
    CHECK(u <= 1.5);
  }
  auto mean = [](const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  CHECK(mean(at[1]) < mean(at[3]));
  CHECK(mean(at[3]) < mean(at[9]));
  CHECK(mean(at[9]) < mean(full));
  const double rho1 = rank_correlation(at[1], full), rho3 = rank_correlation(at[3], full),
               rho9 = rank_correlation(at[9], full);
  CHECK(rho1 > 0.5);  // informative ...
  CHECK(rho1 < 0.97); // ... but not the final ranking
  CHECK(rho1 < rho3);
  CHECK(rho3 < rho9);
}
