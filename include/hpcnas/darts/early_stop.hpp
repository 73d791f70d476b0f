#pragma once
/// DARTS+ early stopping (Liang et al., 2019): a DARTS search that runs long collapses towards
/// skip connections, so it stops once the derived normal cell has `max_skips` of them, or once
/// the derived genotype has stayed the same for `stable_epochs` epochs (this tool's reading of
/// the paper's "ranking of the learnable operations is stable": the DARTS rule's outcome stops
/// changing). Decided from the epoch records alone, which are identical on every rank, so every
/// rank stops after the same epoch without a message.

#include <string>

#include "hpcnas/space/architecture.hpp"

namespace hpcnas::darts {

class EarlyStop {
public:
  /// 0 turns a criterion off.
  EarlyStop(int max_skips, int stable_epochs);
  /// After an epoch: why the search should stop now, or "" to go on.
  std::string after_epoch(const space::Architecture& genotype, int normal_skip_connections);

private:
  int max_skips_;
  int stable_epochs_;
  std::string previous_;
  int unchanged_ = 0; ///< epochs whose genotype equalled the one before
};

} // namespace hpcnas::darts
