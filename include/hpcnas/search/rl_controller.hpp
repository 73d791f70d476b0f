#pragma once
/// The RL controller of `--strategy rl` (Zoph et al., NASNet; Pham et al., ENAS): an LSTM policy
/// emits a genotype as a sequence of decisions and is trained with REINFORCE on the rewards of
/// the children it proposed. LibTorch stays behind a pimpl, so this header is torch-free.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hpcnas/search/strategy.hpp"

namespace hpcnas::search {

/// REINFORCE controller.
///
/// propose() samples from the current policy with the strategy's own generator (never the global
/// torch generator) by inverse CDF, so the same seed and arrival order give the same sequence.
/// observe() buffers results in arrival order; every `batch` results make one update:
///   loss = -mean_i (R_i - b) log pi(a_i) - entropy_weight * mean_i H_i
/// where log pi(a_i) is recomputed under the current policy by a teacher-forced pass over the
/// result's decisions (its proposer may have been an older policy), b is the moving-average
/// baseline before the batch (the first batch's mean reward starts it) and H_i the summed
/// entropy of the decisions. Adam takes one step on the clipped gradient, then b moves towards
/// each reward of the batch in arrival order. Failed children count with reward 0, so the policy
/// learns to avoid architectures that diverge or time out.
class RlStrategy : public Strategy {
public:
  RlStrategy(std::uint64_t seed, const config::RlConfig& cfg,
             space::SearchSpace space = space::SearchSpace::image());
  ~RlStrategy() override;
  std::string name() const override { return "rl"; }
  space::Architecture propose() override;
  void observe(const train::EvalResult& result) override;
  std::vector<ControllerUpdate> take_updates() override;
  /// Policy parameters, Adam's state, baseline, generator, update counter, buffered results
  /// and updates not yet taken.
  std::vector<char> save_state() const override;
  void load_state(const std::vector<char>& state) override;

  /// Probabilities of the choices of decision `step` (0-based, in the space's decision order)
  /// under the current policy, given the earlier decisions of `g` (later ones are ignored).
  std::vector<double> choice_probabilities(const space::Architecture& g, int step) const;
  /// Log-probability of `g` under the current policy.
  double log_probability(const space::Architecture& g) const;
  /// Moving-average baseline (0 before the first update).
  double baseline() const;
  /// Updates made so far.
  std::int64_t updates() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace hpcnas::search
