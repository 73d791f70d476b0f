#include <stdexcept>

#include "hpcnas/search/strategy.hpp"

namespace hpcnas::search {

std::unique_ptr<Strategy> make_strategy(const config::SearchConfig& cfg) {
  if (cfg.strategy == "random")
    return std::make_unique<RandomStrategy>(cfg.seed);
  throw std::invalid_argument("unknown strategy '" + cfg.strategy + "'");
}

} // namespace hpcnas::search
