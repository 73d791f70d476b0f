#include <sstream>
#include <stdexcept>

#include "hpcnas/search/strategy.hpp"

namespace hpcnas::search {

RandomStrategy::RandomStrategy(std::uint64_t seed, space::SearchSpace space)
    : Strategy(space), rng_(train::evaluation_seed(seed, -2)) {}

space::Architecture RandomStrategy::propose() { return space().sample(rng_); }

std::vector<char> RandomStrategy::save_state() const {
  std::ostringstream out;
  out << rng_;
  const std::string text = out.str();
  return {text.begin(), text.end()};
}

void RandomStrategy::load_state(const std::vector<char>& state) {
  std::istringstream in(std::string(state.begin(), state.end()));
  in >> rng_;
  if (!in)
    throw std::runtime_error("random strategy: corrupt saved state");
}

} // namespace hpcnas::search
