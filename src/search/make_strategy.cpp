#include <stdexcept>

#include "hpcnas/search/evolution.hpp"
#include "hpcnas/search/hybrid.hpp"
#include "hpcnas/search/qlearning.hpp"
#include "hpcnas/search/rl_controller.hpp"
#include "hpcnas/search/strategy.hpp"

namespace hpcnas::search {

std::unique_ptr<Strategy> make_strategy(const config::SearchConfig& cfg) {
  if (cfg.strategy == "random")
    return std::make_unique<RandomStrategy>(cfg.seed);
  if (cfg.strategy == "rl")
    return std::make_unique<RlStrategy>(cfg.seed, cfg.rl);
  if (cfg.strategy == "evolution")
    return std::make_unique<EvolutionStrategy>(cfg.seed, cfg.evolution);
  if (cfg.strategy == "qlearning")
    return std::make_unique<QLearningStrategy>(cfg.seed, cfg.qlearning, cfg.budget);
  if (cfg.strategy == "hybrid")
    return std::make_unique<HybridStrategy>(cfg.seed, cfg.evolution, cfg.hybrid);
  throw std::invalid_argument("unknown strategy '" + cfg.strategy + "'");
}

} // namespace hpcnas::search
