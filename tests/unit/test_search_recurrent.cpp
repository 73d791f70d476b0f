// Every strategy on the recurrent cell space, through the dispatcher the pool uses: valid cells
// of --rnn-nodes nodes, exact resume from a checkpoint, and learning on a toy landscape.

#include <catch2/catch.hpp>

#include <numeric>

#include "hpcnas/search/dispatcher.hpp"
#include "hpcnas/search/strategy.hpp"
#include "strategy_driver.hpp"

using namespace hpcnas;
using testing::kill_and_resume;
using testing::run_one_trainer;

namespace {

constexpr int kNodes = 5;

/// A seeded function of the cell: each node's activation and input have a worth, so that a
/// strategy that learns finds better cells than random ones.
class ToyCellEvaluator : public train::Evaluator {
public:
  train::EvalResult evaluate(const train::EvalRequest& request) override {
    train::EvalResult result;
    result.id = request.id;
    result.genotype = request.genotype;
    const auto& nodes = request.genotype.recurrent().nodes;
    double score = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      score += nodes[i].activation == space::Activation::kRelu ? 1.0 : 0.0;
      score += nodes[i].input == static_cast<int>(i) ? 1.0 : 0.0; // reads its predecessor
    }
    result.reward = score / (2.0 * static_cast<double>(nodes.size()));
    result.val_accuracy = result.reward;
    return result;
  }
};

config::SearchConfig text_search(const std::string& strategy) {
  config::SearchConfig cfg;
  cfg.strategy = strategy;
  cfg.seed = 21;
  cfg.data.dataset = "spamassassin";
  cfg.network.rnn_nodes = kNodes;
  cfg.evolution.population = 8;
  cfg.evolution.sample = 3;
  cfg.rl.batch = 4;
  return cfg;
}

double mean_reward(const std::vector<train::EvalResult>& rows, std::size_t from, std::size_t to) {
  double sum = 0;
  for (std::size_t i = from; i < to; ++i)
    sum += rows[i].reward;
  return sum / static_cast<double>(to - from);
}

} // namespace

TEST_CASE("a text dataset makes every strategy search recurrent cells", "[search][recurrent]") {
  for (const std::string name : {"random", "rl", "evolution", "qlearning", "hybrid"}) {
    DYNAMIC_SECTION(name) {
      const config::SearchConfig cfg = text_search(name);
      CHECK(search::search_space(cfg) == space::SearchSpace::recurrent(kNodes));
      auto strategy = search::make_strategy(cfg);
      CHECK(strategy->space().is_recurrent());
      ToyCellEvaluator evaluator;
      search::Dispatcher d(*strategy, 40, cfg.seed);
      const auto rows = run_one_trainer(d, evaluator);
      REQUIRE(rows.size() == 40);
      for (const auto& row : rows) {
        REQUIRE(row.genotype.recurrent().nodes.size() == static_cast<std::size_t>(kNodes));
        row.genotype.recurrent().validate();
      }
    }
  }
  config::SearchConfig image;
  CHECK_FALSE(search::make_strategy(image)->space().is_recurrent());
}

TEST_CASE("a search of recurrent cells resumes exactly with every strategy",
          "[search][recurrent]") {
  constexpr std::int64_t kBudget = 30;
  for (const std::string name : {"random", "rl", "evolution", "qlearning", "hybrid"}) {
    for (const bool asha : {false, true}) {
      DYNAMIC_SECTION(name << (asha ? " with asha" : "")) {
        const config::SearchConfig cfg = text_search(name);
        search::Fidelity fidelity;
        if (asha)
          fidelity.rungs = {1, 3, 9};
        const testing::DispatcherFactory make = [&](search::Strategy& s) {
          return search::Dispatcher(s, kBudget, cfg.seed, {}, fidelity);
        };
        ToyCellEvaluator evaluator;
        auto reference_strategy = search::make_strategy(cfg);
        search::Dispatcher reference = make(*reference_strategy);
        const auto expected = run_one_trainer(reference, evaluator);
        const auto rows = kill_and_resume(cfg, make, evaluator, 19, 11);
        REQUIRE(rows.size() == expected.size());
        for (std::size_t i = 0; i < rows.size(); ++i) {
          CHECK(rows[i].id == expected[i].id);
          CHECK(rows[i].genotype == expected[i].genotype);
        }
      }
    }
  }
}

TEST_CASE("learning strategies find better recurrent cells than they start with",
          "[search][recurrent]") {
  constexpr std::int64_t kBudget = 240;
  for (const std::string name : {"rl", "evolution", "qlearning", "hybrid"}) {
    DYNAMIC_SECTION(name) {
      config::SearchConfig cfg = text_search(name);
      cfg.rl.learning_rate = 0.01;
      auto strategy = search::make_strategy(cfg);
      ToyCellEvaluator evaluator;
      search::Dispatcher d(*strategy, kBudget, cfg.seed);
      const auto rows = run_one_trainer(d, evaluator);
      REQUIRE(rows.size() == kBudget);
      const double first = mean_reward(rows, 0, 40);
      const double last = mean_reward(rows, kBudget - 40, kBudget);
      INFO("mean reward of the first 40: " << first << ", of the last 40: " << last);
      CHECK(last > first + 0.1);
    }
  }
}
