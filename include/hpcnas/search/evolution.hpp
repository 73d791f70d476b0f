#pragma once
/// Regularized (aging) evolution, `--strategy evolution` (Real et al., 2019, AmoebaNet).

#include <cstdint>
#include <deque>
#include <iosfwd>
#include <random>
#include <string>
#include <vector>

#include "hpcnas/search/strategy.hpp"

namespace hpcnas::search {

/// One evaluated architecture in the population.
struct Member {
  space::Architecture genotype;
  double reward = 0;    ///< 0 for a failed child
  std::int64_t id = -1; ///< evaluation id, for the record
  bool operator==(const Member& o) const {
    return genotype == o.genotype && reward == o.reward && id == o.id;
  }
};

/// The members a tournament drew (indices into the population, with replacement) and the
/// fittest of them: the first drawn among those with the highest reward.
struct Tournament {
  std::vector<std::size_t> drawn;
  std::size_t winner = 0;
};

/// Draws `sample` members uniformly with replacement (as in the paper's algorithm) and returns
/// the fittest. The population must not be empty.
Tournament run_tournament(const std::deque<Member>& population, int sample, std::mt19937_64& rng);

/// The result as a member: a failed child (or a non-finite reward) joins with reward 0.
Member member_of(const train::EvalResult& result);
/// Appends `m` as the youngest member; beyond `size` members the oldest die.
void age_in(std::deque<Member>& population, const Member& m, int size);

/// The population as text for a saved state: its size, then per member (oldest first) id,
/// reward (round-trip precision) and genotype encoding.
void write_population(std::ostream& out, const std::deque<Member>& population);
/// Reads what write_population wrote; throws std::runtime_error naming the problem (a size
/// above `limit`, a truncated or invalid member).
std::deque<Member> read_population(std::istream& in, std::size_t limit,
                                   const space::SearchSpace& space);

/// Aging evolution, asynchronous. The first `population` proposals are uniformly random (and so
/// is any proposal while no result has arrived yet). Afterwards each proposal is a mutation
/// (space::mutate: one op or one input changed) of a tournament's winner among the current
/// population; propose() never waits for results. observe() appends each result, in arrival
/// order, as the youngest member; once the population holds more than `population` members the
/// oldest dies. A failed child joins with reward 0.
class EvolutionStrategy : public Strategy {
public:
  EvolutionStrategy(std::uint64_t seed, const config::EvolutionConfig& cfg,
                    space::SearchSpace space = space::SearchSpace::image());
  std::string name() const override { return "evolution"; }
  space::Architecture propose() override;
  void observe(const train::EvalResult& result) override;
  /// Uncounts the proposal: the random start spans `population` children evaluated.
  void discard(const space::Architecture& genotype) override;
  /// Population (oldest first), generator and the number of proposals and results so far.
  std::vector<char> save_state() const override;
  void load_state(const std::vector<char>& state) override;

  /// The current population, oldest first.
  const std::deque<Member>& population() const { return population_; }
  /// Proposals made so far; proposed() - observed() children are still out with trainers.
  std::int64_t proposed() const { return proposed_; }
  std::int64_t observed() const { return observed_; }

private:
  config::EvolutionConfig cfg_;
  std::mt19937_64 rng_;
  std::deque<Member> population_;
  std::int64_t proposed_ = 0;
  std::int64_t observed_ = 0;
};

} // namespace hpcnas::search
