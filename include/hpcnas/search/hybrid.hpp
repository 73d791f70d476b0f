#pragma once
/// `--strategy hybrid`: aging evolution whose mutations are chosen by a policy that REINFORCE
/// trains on how much each child improved on its parent. Why it should beat both parents:
/// docs/strategies.md.

#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "hpcnas/search/evolution.hpp"

namespace hpcnas::search {

/// One mutation: decision `position` (in space::SearchSpace's decision order) changes from
/// `from` to `to`.
struct Mutation {
  int position = 0;
  int from = 0;
  int to = 0;
};

/// What one REINFORCE step did, for the run file's /controller row.
struct PolicyStep {
  double log_probability = 0; ///< of the mutation, under the policy before the step
  double entropy = 0;         ///< of the policy's distribution over the parent's mutations
  double grad_norm = 0;       ///< of the log-probability's gradient times the advantage
};

/// A policy over the single-decision mutations of a parent: it learns a worth w[p][v] for each
/// value v of each decision p and draws the mutation "decision p from the parent's value c to v"
/// (v != c) from one softmax over all of them, with logit
///   w[p][v] - w[p][c] - log(choices(p) - 1).
/// So it moves a decision towards values worth more than the parent's, and leaves alone the
/// decisions where the parent already holds the best value. At w = 0 every decision that has
/// another value is equally likely, then every other value (for image cells exactly the
/// uniform mutation of space::mutate); the log term keeps decisions with few values (node 0's
/// inputs) from being drawn less often.
class MutationPolicy {
public:
  explicit MutationPolicy(space::SearchSpace space = space::SearchSpace::image());

  /// Values per decision in probabilities() and weights(): the space's largest choices.
  int slots() const { return slots_; }
  /// Probability of each mutation of `parent` (its decisions), at [position * slots() + value];
  /// 0 for the parent's own values and for values a decision does not have.
  std::vector<double> probabilities(const std::vector<int>& parent) const;
  /// Draws a mutation of `parent` by inverse CDF with `rng`.
  Mutation sample(const std::vector<int>& parent, std::mt19937_64& rng) const;
  /// w += learning_rate * advantage * d log pi(m | parent) / dw.
  PolicyStep reinforce(const std::vector<int>& parent, const Mutation& m, double advantage,
                       double learning_rate);
  double worth(int position, int value) const;

  /// Every w[p][v], p-major (slots() per decision, unused slots 0): for the saved state.
  std::vector<double> weights() const;
  /// Throws std::runtime_error when `values` has the wrong length or a non-finite value.
  void set_weights(const std::vector<double>& values);

private:
  double& at(std::vector<double>& table, int position, int value) const {
    return table[static_cast<std::size_t>(position * slots_ + value)];
  }

  space::SearchSpace space_;
  int slots_;
  std::vector<double> worth_; ///< w[p][v] at p * slots_ + v
};

/// Aging evolution (EvolutionStrategy's population, tournament and random start) whose child is
/// the parent with one decision changed as MutationPolicy draws it. When a mutated child's result
/// arrives, its improvement d = reward(child) - reward(parent) (a failed child has reward 0)
/// becomes the advantage A = clamp((d - b) / s, -3, 3), b and s the moving average and spread of
/// earlier improvements, and the policy takes one REINFORCE step on A. Asynchronous as the
/// parents: propose() never waits; the mutations still out are kept by child genotype.
class HybridStrategy : public Strategy {
public:
  HybridStrategy(std::uint64_t seed, const config::EvolutionConfig& evolution,
                 const config::HybridConfig& cfg,
                 space::SearchSpace space = space::SearchSpace::image());
  std::string name() const override { return "hybrid"; }
  space::Architecture propose() override;
  void observe(const train::EvalResult& result) override;
  /// Uncounts the proposal and forgets its mutation (the policy learns from evaluated ones).
  void discard(const space::Architecture& genotype) override;
  std::vector<ControllerUpdate> take_updates() override;
  /// Population, policy, baseline, the mutations still out, generator, counts and updates not
  /// yet taken: a resumed search continues exactly.
  std::vector<char> save_state() const override;
  void load_state(const std::vector<char>& state) override;

  const MutationPolicy& policy() const { return policy_; }
  const std::deque<Member>& population() const { return population_; }
  /// Mutated children proposed whose result has not arrived.
  std::size_t mutations_out() const { return out_.size(); }
  std::int64_t updates() const { return updates_; }

private:
  struct Outstanding {
    Mutation mutation;
    double parent_reward = 0;
  };
  void learn(const std::vector<int>& child, const Outstanding& o, double reward);

  config::EvolutionConfig evolution_;
  config::HybridConfig cfg_;
  std::mt19937_64 rng_;
  MutationPolicy policy_;
  std::deque<Member> population_;
  /// By the child's decisions; a child proposed twice before its result has two, oldest first.
  std::multimap<std::vector<int>, Outstanding> out_;
  std::int64_t proposed_ = 0;
  std::int64_t observed_ = 0;
  std::int64_t updates_ = 0;
  double improvement_mean_ = 0; ///< b
  double improvement_var_ = 0;  ///< s squared
  std::vector<ControllerUpdate> untaken_;
};

} // namespace hpcnas::search
