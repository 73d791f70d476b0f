#pragma once
/// MetaQNN's Q-learning, `--strategy qlearning` (Baker et al., ICLR 2017), on hpcnas's cell space.

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hpcnas/search/strategy.hpp"

namespace hpcnas::search {

/// Tabular Q-learning over the sequence of decisions that builds an architecture (in the order
/// of space::SearchSpace: for image cells, per cell and node, input a, input b, op a, op b; for
/// recurrent cells, per node, input then activation). A state is the step and
/// the decision just taken, the action the next decision; every step's reward is 0 but the last,
/// which is the child's reward (0 when it failed); discount 1.
///
/// propose(): with probability epsilon the whole architecture is drawn at random, otherwise it
/// is the greedy one (ties broken at random). Per architecture rather than per decision, as a
/// greedy architecture is what the table believes best, while with epsilon per decision nearly
/// every architecture (32 decisions for image cells) would be partly random. Epsilon falls from
/// epsilon_start to epsilon_end in epsilon_stages equal stages over epsilon_span proposals
/// (MetaQNN's schedule shape). An architecture already proposed is not proposed again: as in
/// MetaQNN, one already evaluated has its recorded reward replayed instead; then the next draw
/// takes each decision at random with probability attempt / decisions, so a greedy proposal that is
/// known turns into a near-greedy new one.
///
/// observe(): the result joins the replay memory, then `replay` experiences drawn uniformly from
/// it update Q along their decisions, last decision first (Peng's Q(lambda) along the path):
///   Q(s_t, a_t) += lr * (target_t - Q(s_t, a_t)), target = reward at the last step, else
///   (1 - lambda) max_a Q(s_{t+1}, a) + lambda target_{t+1}.
/// lambda 0 is MetaQNN's one-step Q-learning (docs/strategies.md says why the default is not).
class QLearningStrategy : public Strategy {
public:
  /// `budget` sets the epsilon schedule when cfg.epsilon_span is 0.
  QLearningStrategy(std::uint64_t seed, const config::QLearningConfig& cfg, int budget,
                    space::SearchSpace space = space::SearchSpace::image());
  std::string name() const override { return "qlearning"; }
  space::Architecture propose() override;
  void observe(const train::EvalResult& result) override;
  /// Uncounts the proposal (epsilon falls over children evaluated) and lets it be proposed again.
  void discard(const space::Architecture& genotype) override;
  /// Q-table, replay memory, the architectures proposed so far, generator, proposal count and
  /// the schedule's span: a resumed search continues exactly.
  std::vector<char> save_state() const override;
  void load_state(const std::vector<char>& state) override;

  /// Epsilon of the next proposal.
  double epsilon() const;
  /// Q of decision `action` at step `step` after decision `previous` (0 at step 0).
  double q(int step, int previous, int action) const;
  std::size_t memory_size() const { return memory_.size(); }

private:
  using Decisions = std::vector<int>;
  struct Experience {
    Decisions decisions;
    double reward = 0;
  };

  /// Decisions greedy under Q, each one instead at random with probability `random_share`.
  Decisions draw(double random_share);
  void remember(const Decisions& decisions, double reward);
  void update_along(const Experience& e);
  double& cell(int step, int previous, int action);

  int max_choices_; ///< of any decision: the Q-table's width
  config::QLearningConfig cfg_;
  std::int64_t span_;
  std::mt19937_64 rng_;
  std::int64_t proposed_ = 0;
  /// [step][previous decision][action], flattened.
  std::vector<double> q_;
  std::vector<Experience> memory_;
  std::set<Decisions> proposed_set_;
  std::map<Decisions, double> rewards_;
};

} // namespace hpcnas::search
