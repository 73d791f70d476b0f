#include "hpcnas/search/strategy.hpp"

namespace hpcnas::search {

RandomStrategy::RandomStrategy(std::uint64_t seed) : rng_(train::evaluation_seed(seed, -2)) {}

space::Genotype RandomStrategy::propose() { return space::sample_genotype(rng_); }

} // namespace hpcnas::search
