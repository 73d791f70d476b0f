#pragma once
// Shared by the strategy tests: a result as a strategy sees it, and a loop that proposes,
// scores with the surrogate and observes.

#include <cstdint>
#include <vector>

#include "hpcnas/search/strategy.hpp"
#include "hpcnas/train/surrogate.hpp"

namespace hpcnas::testing {

inline train::EvalResult result_of(std::int64_t id, const space::Genotype& g, double reward) {
  train::EvalResult r;
  r.id = id;
  r.genotype = g;
  r.reward = reward;
  return r;
}

/// Proposes, scores with the surrogate and observes `steps` times; returns the proposals.
inline std::vector<space::Genotype> drive(search::Strategy& s,
                                          const train::SurrogateEvaluator& surrogate, int steps,
                                          std::int64_t first_id = 0) {
  std::vector<space::Genotype> out;
  for (int i = 0; i < steps; ++i) {
    const auto g = s.propose();
    out.push_back(g);
    s.observe(result_of(first_id + i, g, surrogate.reward_of(g)));
  }
  return out;
}

} // namespace hpcnas::testing
