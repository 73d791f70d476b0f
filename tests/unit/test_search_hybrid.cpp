#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "hpcnas/search/hybrid.hpp"
#include "hpcnas/train/surrogate.hpp"
#include "strategy_driver.hpp"

using namespace hpcnas;

namespace {
const space::SearchSpace kImage = space::SearchSpace::image();
const int kSlots = search::MutationPolicy().slots();
} // namespace
using search::HybridStrategy;
using search::Mutation;
using search::MutationPolicy;
using testing::drive;
using testing::result_of;

namespace {

config::EvolutionConfig small_population() {
  config::EvolutionConfig cfg;
  cfg.population = 10;
  cfg.sample = 5;
  return cfg;
}

int differences(const std::vector<int>& a, const std::vector<int>& b) {
  int n = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    n += a[i] != b[i];
  return n;
}

} // namespace

TEST_CASE("the untrained mutation policy is the uniform mutation", "[search][hybrid]") {
  std::mt19937_64 rng(1);
  const std::vector<int> parent = kImage.decisions_of(space::sample_genotype(rng));
  const auto prob = MutationPolicy().probabilities(parent);
  for (int p = 0; p < kImage.decisions(); ++p) {
    const int n = kImage.choices(p);
    for (int v = 0; v < kSlots; ++v) {
      const double expected = v >= n || v == parent[static_cast<std::size_t>(p)]
                                  ? 0.0
                                  : 1.0 / kImage.decisions() / (n - 1);
      CHECK(prob[static_cast<std::size_t>(p * kSlots + v)] == Approx(expected));
    }
  }
}

TEST_CASE("a rewarded mutation becomes likelier and a punished one rarer", "[search][hybrid]") {
  std::mt19937_64 rng(2);
  std::vector<int> parent = kImage.decisions_of(space::sample_genotype(rng));
  parent[6] = 2;             // op a of node 1 ...
  const Mutation m{6, 2, 5}; // ... from op 2 to op 5
  const std::size_t at = 6 * kSlots + 5;
  const double before = MutationPolicy().probabilities(parent)[at];
  MutationPolicy policy;
  const search::PolicyStep step = policy.reinforce(parent, m, 1.0, 0.5);
  CHECK(step.log_probability == Approx(std::log(before)));
  CHECK(step.grad_norm > 0);
  CHECK(policy.probabilities(parent)[at] > before);
  CHECK(policy.worth(6, 5) > policy.worth(6, 2));
  // A parent that already holds the value the policy now prefers is mutated there less often.
  std::vector<int> improved = parent;
  improved[6] = 5;
  double at_6 = 0;
  for (int v = 0; v < kSlots; ++v)
    at_6 += policy.probabilities(improved)[static_cast<std::size_t>(6 * kSlots + v)];
  CHECK(at_6 < 1.0 / kImage.decisions());
  MutationPolicy punished;
  punished.reinforce(parent, m, -1.0, 0.5);
  CHECK(punished.probabilities(parent)[at] < before);
  // Zero advantage changes nothing.
  MutationPolicy unchanged;
  unchanged.reinforce(parent, m, 0.0, 0.5);
  CHECK(unchanged.weights() == MutationPolicy().weights());
}

TEST_CASE("hybrid starts random, then changes one decision of a population member",
          "[search][hybrid]") {
  config::SearchConfig cfg;
  cfg.strategy = "hybrid";
  cfg.evolution = small_population();
  auto made = search::make_strategy(cfg);
  CHECK(made->name() == "hybrid");
  HybridStrategy s(3, small_population(), config::HybridConfig{});
  const train::SurrogateEvaluator surrogate(0, config::SurrogateConfig{}, 1);
  drive(s, surrogate, 10);
  CHECK(s.mutations_out() == 0); // the random start has no parents
  CHECK(s.updates() == 0);
  // Three children out at once (three trainers), their results back in another order.
  std::vector<space::Architecture> children;
  for (int i = 0; i < 3; ++i)
    children.push_back(s.propose());
  CHECK(s.mutations_out() == 3);
  for (const auto& child : children) {
    const auto decisions = kImage.decisions_of(child);
    int nearest = kImage.decisions();
    for (const auto& m : s.population())
      nearest = std::min(nearest, differences(decisions, kImage.decisions_of(m.genotype)));
    CHECK(nearest == 1);
  }
  for (int i : {2, 0, 1})
    s.observe(result_of(10 + i, children[static_cast<std::size_t>(i)],
                        surrogate.reward_of(children[static_cast<std::size_t>(i)])));
  CHECK(s.mutations_out() == 0);
  CHECK(s.updates() == 3);
  const auto rows = s.take_updates();
  REQUIRE(rows.size() == 3);
  CHECK(rows[2].update == 2);
  CHECK(s.take_updates().empty());
  CHECK(s.population().size() == 10); // the oldest aged out
}

TEST_CASE("hybrid learns which mutations improve on the surrogate", "[search][hybrid]") {
  const train::SurrogateEvaluator surrogate(0, config::SurrogateConfig{}, 1);
  HybridStrategy s(5, config::EvolutionConfig{}, config::HybridConfig{});
  const auto proposed = drive(s, surrogate, 300);
  CHECK(s.updates() == 280);
  // The policy moved away from the uniform mutation: its entropy on the best member fell.
  const auto best = std::max_element(
      s.population().begin(), s.population().end(),
      [](const search::Member& a, const search::Member& b) { return a.reward < b.reward; });
  const std::vector<int> parent = kImage.decisions_of(best->genotype);
  auto entropy = [&parent](const MutationPolicy& policy) {
    double h = 0;
    for (double p : policy.probabilities(parent))
      h -= p > 0 ? p * std::log(p) : 0.0;
    return h;
  };
  CHECK(entropy(s.policy()) < entropy(MutationPolicy()) - 0.05);
  double first = 0, last = 0;
  for (int i = 0; i < 20; ++i) {
    first += surrogate.reward_of(proposed[static_cast<std::size_t>(i)]);
    last += surrogate.reward_of(proposed[proposed.size() - 1 - static_cast<std::size_t>(i)]);
  }
  CHECK(last > first);
}

TEST_CASE("a restored hybrid strategy continues exactly", "[search][hybrid]") {
  const train::SurrogateEvaluator surrogate(0, config::SurrogateConfig{}, 1);
  HybridStrategy a(4, small_population(), config::HybridConfig{});
  drive(a, surrogate, 40);
  // Save with two mutated children out and an update not yet taken.
  const space::Architecture out1 = a.propose(), out2 = a.propose();
  a.observe(result_of(41, out2, 0.0)); // failed child: reward 0
  REQUIRE(a.mutations_out() == 1);
  const std::vector<char> state = a.save_state();
  HybridStrategy b(999, small_population(), config::HybridConfig{});
  b.load_state(state);
  CHECK(b.save_state() == state);
  CHECK(b.take_updates().size() == a.take_updates().size());
  a.observe(result_of(40, out1, surrogate.reward_of(out1)));
  b.observe(result_of(40, out1, surrogate.reward_of(out1)));
  CHECK(b.policy().weights() == a.policy().weights());
  CHECK((drive(a, surrogate, 40, 42) == drive(b, surrogate, 40, 42)));
  CHECK(b.save_state() == a.save_state());

  CHECK_THROWS_WITH(b.load_state({'x'}), Catch::Contains("hybrid strategy: corrupt"));
  std::vector<char> cut(state.begin(), state.begin() + static_cast<long>(state.size() * 3 / 4));
  CHECK_THROWS(b.load_state(cut));
  HybridStrategy smaller(4, config::EvolutionConfig{5, 2}, config::HybridConfig{});
  CHECK_THROWS_WITH(smaller.load_state(state), Catch::Contains("larger --population"));
}
