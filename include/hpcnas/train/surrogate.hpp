#pragma once
/// A deterministic stand-in for training: reward is a seeded function of the genotype.
///
/// score(g) = sum over both cells and edges e of   op_gain[cell][op_e] +
/// edge_gain[cell][e][input_e]
///          + sum over nodes of pair_gain[cell][op_a][op_b]     (the node's two ops interact)
///          + noise * N(0,1) seeded by the evaluation id (0 by default)
/// The tables are drawn once from the landscape seed. reward = sigmoid(score / scale), a value in
/// (0, 1) that behaves like an accuracy. Everything this evaluator reports is labelled surrogate.

#include <array>
#include <cstdint>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::train {

class SurrogateEvaluator : public Evaluator {
public:
  SurrogateEvaluator(std::uint64_t landscape_seed, config::SurrogateConfig cfg, int rank);
  EvalResult evaluate(const EvalRequest& request) override;
  /// The noiseless surrogate reward of a genotype.
  double reward_of(const space::Genotype& g) const;

private:
  static constexpr int kOps = space::kCandidateOps;
  static constexpr int kInputs = space::kNodes + 1; // node 3 may read states 0..4
  std::array<std::array<double, kOps>, 2> op_gain_{};
  std::array<std::array<std::array<double, kInputs>, space::kEdgesPerCell>, 2> edge_gain_{};
  std::array<std::array<std::array<double, kOps>, kOps>, 2> pair_gain_{};
  double scale_ = 1;
  config::SurrogateConfig cfg_;
  int rank_;
};

} // namespace hpcnas::train
