#include <catch2/catch.hpp>

#include <cmath>

#include <torch/torch.h>

#include "hpcnas/search/rl_controller.hpp"
#include "hpcnas/train/surrogate.hpp"
#include "strategy_driver.hpp"

using namespace hpcnas;

namespace {
const space::SearchSpace kImage = space::SearchSpace::image();
}
using testing::drive;
using testing::result_of;

namespace {

config::SearchConfig rl_config(std::uint64_t seed) {
  config::SearchConfig cfg;
  cfg.strategy = "rl";
  cfg.seed = seed;
  return cfg;
}


/// Exact probability that the normal cell's edge 0 gets op `op`: its op is decision 2, after the
/// node's two input decisions (each 0 or 1).
double probability_of_first_op(const search::RlStrategy& s, int op) {
  space::Genotype g = space::darts_v2();
  double total = 0;
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      g.normal.edges[0].input = a;
      g.normal.edges[1].input = b;
      total += s.choice_probabilities(g, 0)[a] * s.choice_probabilities(g, 1)[b] *
               s.choice_probabilities(g, 2)[op];
    }
  return total;
}

bool finite_row(const search::ControllerUpdate& u) {
  return std::isfinite(u.mean_reward) && std::isfinite(u.baseline) && std::isfinite(u.entropy) &&
         std::isfinite(u.loss) && std::isfinite(u.grad_norm);
}

} // namespace

TEST_CASE("policy decisions map one to one onto genotypes", "[search][rl]") {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 50; ++i) {
    const auto g = space::sample_genotype(rng);
    const auto d = kImage.decisions_of(g);
    REQUIRE(d.size() == static_cast<std::size_t>(kImage.decisions()));
    REQUIRE(kImage.from_decisions(d) == g);
  }
  const auto d = kImage.decisions_of(space::darts_v2());
  // normal node 0: ('sep_conv_3x3', 0), ('sep_conv_3x3', 1) -> input a, input b, op a, op b
  CHECK(std::vector<int>(d.begin(), d.begin() + 4) == std::vector<int>{0, 1, 3, 3});
  auto bad = d;
  bad[0] = 2; // node 0 may read states 0 and 1 only
  CHECK_THROWS_AS(kImage.from_decisions(bad), space::SpaceError);
}

TEST_CASE("the teacher-forced log-probability is the sum over the decisions", "[search][rl]") {
  search::RlStrategy s(4, config::RlConfig{});
  const auto g = s.propose();
  const auto d = kImage.decisions_of(g);
  double sum = 0;
  for (int step = 0; step < kImage.decisions(); ++step) {
    const auto p = s.choice_probabilities(g, step);
    const int expected = step % 4 < 2 ? (step % 16) / 4 + 2 : space::kCandidateOps;
    REQUIRE(static_cast<int>(p.size()) == expected);
    sum += std::log(p[d[step]]);
  }
  CHECK(s.log_probability(g) == Approx(sum).epsilon(1e-4));
  // The initial policy is close to uniform: logits are small, then divided by the temperature.
  const auto first = s.choice_probabilities(g, 2);
  for (double p : first)
    CHECK(p == Approx(1.0 / space::kCandidateOps).epsilon(0.1));
}

TEST_CASE("rl proposals are reproducible from the seed and arrival order", "[search][rl]") {
  const train::SurrogateEvaluator surrogate(7, {}, 0);
  auto a = search::make_strategy(rl_config(11));
  auto b = search::make_strategy(rl_config(11));
  auto c = search::make_strategy(rl_config(12));
  CHECK(a->name() == "rl");
  const auto from_a = drive(*a, surrogate, 60);
  const auto from_b = drive(*b, surrogate, 60);
  const auto from_c = drive(*c, surrogate, 60);
  CHECK((from_a == from_b));
  int same = 0;
  for (int i = 0; i < 60; ++i)
    same += from_a[i] == from_c[i];
  CHECK(same == 0);
  for (const auto& g : from_a)
    REQUIRE_NOTHROW(g.image().validate());
}

TEST_CASE("the policy leaves the global torch generator alone", "[search][rl]") {
  torch::manual_seed(5);
  const torch::Tensor expected = torch::rand({4});
  torch::manual_seed(5);
  const train::SurrogateEvaluator surrogate(1, {}, 0);
  search::RlStrategy s(1, config::RlConfig{});
  drive(s, surrogate, 10);
  CHECK(torch::equal(torch::rand({4}), expected));
}

TEST_CASE("one controller row per batch of M results, with finite values", "[search][rl]") {
  config::RlConfig cfg;
  cfg.batch = 5;
  search::RlStrategy s(2, cfg);
  const train::SurrogateEvaluator surrogate(2, {}, 0);
  drive(s, surrogate, 4);
  CHECK(s.take_updates().empty());
  CHECK(s.updates() == 0);
  drive(s, surrogate, 1, 4);
  auto rows = s.take_updates();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].update == 0);
  CHECK(finite_row(rows[0]));
  CHECK(rows[0].entropy > 0);
  CHECK(rows[0].grad_norm > 0);
  CHECK(s.take_updates().empty());
  drive(s, surrogate, 12, 5);
  rows = s.take_updates();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].update == 1);
  CHECK(rows[1].update == 2);
  CHECK(finite_row(rows[0]));
  CHECK(finite_row(rows[1]));
  CHECK(rows[1].baseline == s.baseline());
}

TEST_CASE("a failed child counts with reward 0", "[search][rl]") {
  config::RlConfig cfg;
  cfg.batch = 2;
  search::RlStrategy s(2, cfg);
  for (int i = 0; i < 2; ++i) {
    auto r = result_of(i, s.propose(), 0.9);
    r.status = train::EvalStatus::kDiverged;
    s.observe(r);
  }
  const auto rows = s.take_updates();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].mean_reward == 0);
}

TEST_CASE("REINFORCE raises the probability of a rewarded decision", "[search][rl]") {
  // Reward 1 when the normal cell's edge 0 is sep_conv_3x3, else 0: only decision 2 matters.
  const int sep_conv_3x3 = static_cast<int>(space::Op::kSepConv3x3) - 1;
  search::RlStrategy s(8, config::RlConfig{});
  const double before = probability_of_first_op(s, sep_conv_3x3);
  CHECK(before == Approx(1.0 / space::kCandidateOps).epsilon(0.1));
  for (int i = 0; i < 40 * 5; ++i) { // 40 updates of M = 5
    const auto g = s.propose();
    s.observe(result_of(i, g, g.image().normal.edges[0].op == space::Op::kSepConv3x3 ? 1.0 : 0.0));
  }
  CHECK(s.updates() == 40);
  const double after = probability_of_first_op(s, sep_conv_3x3);
  INFO("before " << before << ", after " << after);
  CHECK(after > 0.5);
}

TEST_CASE("rl state round trip continues with the same proposals and updates", "[search][rl]") {
  const train::SurrogateEvaluator surrogate(3, {}, 0);
  auto cfg = rl_config(21);
  search::RlStrategy a(cfg.seed, cfg.rl);
  drive(a, surrogate, 23); // 4 updates, 3 results buffered
  a.propose();             // one out with a trainer: its result arrives after the restart
  const auto state = a.save_state();
  const auto rows_a = a.take_updates();

  search::RlStrategy b(cfg.seed, cfg.rl);
  b.load_state(state);
  CHECK(b.take_updates().size() == rows_a.size()); // rows not yet taken travel with the state
  CHECK(b.baseline() == a.baseline());
  CHECK(b.updates() == 4);
  const auto next_a = drive(a, surrogate, 20, 24);
  const auto next_b = drive(b, surrogate, 20, 24);
  CHECK((next_a == next_b));
  const auto later_a = a.take_updates(), later_b = b.take_updates();
  REQUIRE(later_a.size() == later_b.size());
  REQUIRE(later_a.size() == 4);
  for (std::size_t i = 0; i < later_a.size(); ++i) {
    CHECK(later_a[i].update == later_b[i].update);
    CHECK(later_a[i].loss == later_b[i].loss);
    CHECK(later_a[i].grad_norm == later_b[i].grad_norm);
  }

  search::RlStrategy c(cfg.seed, cfg.rl);
  const auto fresh = c.propose();
  CHECK_THROWS_WITH(c.load_state({'x', 'y'}), Catch::Contains("rl strategy: corrupt saved state"));
  config::RlConfig other = cfg.rl;
  other.hidden = 32;
  search::RlStrategy d(cfg.seed, other);
  CHECK_THROWS_WITH(d.load_state(state), Catch::Contains("--rl-hidden"));
  (void)fresh;
}
