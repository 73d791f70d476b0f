#include <catch2/catch.hpp>

#include <set>

#include "hpcnas/search/qlearning.hpp"
#include "hpcnas/train/surrogate.hpp"
#include "strategy_driver.hpp"

using namespace hpcnas;

namespace {
const space::SearchSpace kImage = space::SearchSpace::image();
}
using testing::drive;
using testing::result_of;
using search::QLearningStrategy;

TEST_CASE("epsilon falls from start to end in equal stages over the budget", "[search][qlearning]") {
  config::QLearningConfig cfg; // 1.0 to 0.1 in 10 stages
  cfg.epsilon_span = 0;        // over the budget
  QLearningStrategy s(1, cfg, 100);
  const train::SurrogateEvaluator surrogate(0, config::SurrogateConfig{}, 1);
  CHECK(s.epsilon() == Approx(1.0));
  drive(s, surrogate, 10);
  CHECK(s.epsilon() == Approx(0.9));
  drive(s, surrogate, 85);
  CHECK(s.epsilon() == Approx(0.1));
  drive(s, surrogate, 20); // past the schedule
  CHECK(s.epsilon() == Approx(0.1));
  cfg.epsilon_span = 20; // an explicit span wins over the budget
  QLearningStrategy short_schedule(1, cfg, 100);
  drive(short_schedule, surrogate, 10);
  CHECK(short_schedule.epsilon() == Approx(0.5));
}

TEST_CASE("one replayed result carries its reward back along its decisions",
          "[search][qlearning]") {
  config::QLearningConfig cfg;
  cfg.learning_rate = 1;
  cfg.replay = 1;
  QLearningStrategy s(2, cfg, 10);
  const space::Architecture g = s.propose();
  s.observe(result_of(0, g, 0.9));
  const std::vector<int> d = kImage.decisions_of(g);
  // lr 1: the last step takes the reward, every earlier step the best of the next state's values,
  // the reward (0.9) against untouched 0.5s.
  for (int step = 0; step < kImage.decisions(); ++step)
    CHECK(s.q(step, step > 0 ? d[step - 1] : 0, d[step]) == Approx(0.9));
  CHECK(s.memory_size() == 1);
  // At lr 0.5 from Q = 0.2: Peng's Q(lambda) with lambda 1 moves every step halfway to the reward
  // (0.55); one-step Q-learning (lambda 0) moves each step halfway to the next step's new value,
  // so the reward's pull halves at every step back.
  cfg.learning_rate = 0.5;
  cfg.initial_q = 0.2;
  const int last = kImage.decisions() - 1;
  double first_step[2] = {};
  for (const double lambda : {0.0, 1.0}) {
    cfg.lambda = lambda;
    QLearningStrategy fresh(2, cfg, 10);
    fresh.observe(result_of(0, g, 0.9));
    CHECK(fresh.q(last, d[last - 1], d[last]) == Approx(0.55));
    first_step[lambda > 0] = fresh.q(0, 0, d[0]);
  }
  CHECK(first_step[0] == Approx(0.2).margin(1e-6));
  CHECK(first_step[1] == Approx(0.55));
  // A failed child counts with reward 0.
  const space::Architecture failed = s.propose();
  train::EvalResult r = result_of(1, failed, 0.7);
  r.status = train::EvalStatus::kDiverged;
  s.observe(r);
  const std::vector<int> f = kImage.decisions_of(failed);
  CHECK(s.q(last, f[last - 1], f[last]) == 0.0);
}

TEST_CASE("qlearning never proposes an architecture twice and learns the surrogate",
          "[search][qlearning]") {
  const train::SurrogateEvaluator surrogate(0, config::SurrogateConfig{}, 1);
  QLearningStrategy s(3, config::QLearningConfig{}, 300);
  const auto proposed = drive(s, surrogate, 300);
  std::set<std::vector<int>> distinct;
  for (const auto& g : proposed)
    distinct.insert(g.encode());
  CHECK(distinct.size() == proposed.size());
  // Learnt: the last 50 proposals (epsilon 0.1 by then) beat the first 50 (all random).
  double first = 0, last = 0;
  for (int i = 0; i < 50; ++i) {
    first += surrogate.reward_of(proposed[i]);
    last += surrogate.reward_of(proposed[proposed.size() - 1 - i]);
  }
  CHECK(last > first);
}

TEST_CASE("a restored qlearning strategy continues exactly", "[search][qlearning]") {
  const train::SurrogateEvaluator surrogate(0, config::SurrogateConfig{}, 1);
  const config::QLearningConfig cfg;
  QLearningStrategy a(4, cfg, 120);
  drive(a, surrogate, 60);
  const std::vector<char> state = a.save_state();
  QLearningStrategy b(999, cfg, 5); // other seed and budget: the state brings its own
  b.load_state(state);
  CHECK(b.save_state() == state);
  CHECK((drive(a, surrogate, 60, 60) == drive(b, surrogate, 60, 60)));
  CHECK_THROWS_WITH(b.load_state({'x'}), Catch::Contains("not a qlearning state"));
  std::vector<char> cut(state.begin(), state.begin() + static_cast<long>(state.size() / 2));
  CHECK_THROWS(b.load_state(cut));
}
