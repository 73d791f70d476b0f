#include <stdexcept>

#include "hpcnas/search/evolution.hpp"
#include "hpcnas/search/hybrid.hpp"
#include "hpcnas/search/qlearning.hpp"
#include "hpcnas/search/rl_controller.hpp"
#include "hpcnas/search/strategy.hpp"

namespace hpcnas::search {

space::SearchSpace search_space(const config::SearchConfig& cfg) {
  return config::is_text_dataset(cfg.data.dataset)
             ? space::SearchSpace::recurrent(cfg.network.rnn_nodes)
             : space::SearchSpace::image();
}

std::unique_ptr<Strategy> make_strategy(const config::SearchConfig& cfg) {
  const space::SearchSpace space = search_space(cfg);
  if (cfg.strategy == "random")
    return std::make_unique<RandomStrategy>(cfg.seed, space);
  if (cfg.strategy == "rl")
    return std::make_unique<RlStrategy>(cfg.seed, cfg.rl, space);
  if (cfg.strategy == "evolution")
    return std::make_unique<EvolutionStrategy>(cfg.seed, cfg.evolution, space);
  if (cfg.strategy == "qlearning")
    return std::make_unique<QLearningStrategy>(cfg.seed, cfg.qlearning, cfg.budget, space);
  if (cfg.strategy == "hybrid")
    return std::make_unique<HybridStrategy>(cfg.seed, cfg.evolution, cfg.hybrid, space);
  throw std::invalid_argument("unknown strategy '" + cfg.strategy + "'");
}

} // namespace hpcnas::search
