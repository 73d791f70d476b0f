#pragma once
/// A deterministic stand-in for training: reward is a seeded function of the genotype.
///
/// score(g) = sum over both cells and edges e of   op_gain[cell][op_e] +
/// edge_gain[cell][e][input_e]
///          + sum over nodes of pair_gain[cell][op_a][op_b]     (the node's two ops interact)
///          + noise * N(0,1) seeded by the evaluation id (0 by default)
/// The tables are drawn once from the landscape seed. reward = sigmoid(score / scale), a value in
/// (0, 1) that behaves like an accuracy. Everything this evaluator reports is labelled surrogate.
///
/// With a full fidelity E (a scheduler's --max-epochs), a request for e < E epochs gets a point
/// of the child's learning curve instead of the full reward: with f = e / E,
///   reward(e) = reward - 0.3 * u * (1 - f)^2 + 0.03 * (1 - f) * N(0,1),   clamped to [0, 1],
/// where u in [0.5, 1.5] is the child's own learning speed (a seeded function of the genotype and
/// the landscape: some children start slowly) and the noise is seeded by the evaluation. Low
/// fidelities thus rank children roughly, and ever better as e grows; at e = E the reward is the
/// full one.

#include <array>
#include <cstdint>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::train {

class SurrogateEvaluator : public Evaluator {
public:
  /// `full_epochs` E turns the learning curve on (0: every request gets the full reward).
  SurrogateEvaluator(std::uint64_t landscape_seed, config::SurrogateConfig cfg, int rank,
                     int full_epochs = 0);
  EvalResult evaluate(const EvalRequest& request) override;
  /// The noiseless surrogate reward of a genotype.
  double reward_of(const space::Genotype& g) const;
  /// The same of an image architecture; throws space::SpaceError for a recurrent cell.
  double reward_of(const space::Architecture& a) const { return reward_of(a.image()); }
  /// The child's learning speed u in [0.5, 1.5] (see above).
  double learning_speed(const space::Genotype& g) const;

private:
  static constexpr int kOps = space::kCandidateOps;
  static constexpr int kInputs = space::kNodes + 1; // node 3 may read states 0..4
  std::array<std::array<double, kOps>, 2> op_gain_{};
  std::array<std::array<std::array<double, kInputs>, space::kEdgesPerCell>, 2> edge_gain_{};
  std::array<std::array<std::array<double, kOps>, kOps>, 2> pair_gain_{};
  double scale_ = 1;
  std::uint64_t landscape_seed_;
  config::SurrogateConfig cfg_;
  int rank_;
  int full_epochs_;
};

} // namespace hpcnas::train
