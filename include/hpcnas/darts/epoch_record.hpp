#pragma once
/// What one epoch of a DARTS search gives, identical on every rank. Plain data, torch-free: the
/// search fills it, the run file stores it, the report reads it.

#include <cstdint>
#include <vector>

#include "hpcnas/space/architecture.hpp"

namespace hpcnas::darts {

/// A record (see train::EvalResult): fields() lists the /darts/epochs columns; alpha_normal and
/// alpha_reduce, arrays rather than numbers, have datasets of their own.
struct EpochRecord {
  std::int64_t epoch = 0;    ///< 0-based
  std::int64_t steps = 0;    ///< search steps this epoch
  double learning_rate = 0;  ///< of the weights, this epoch
  double train_loss = 0;     ///< mean over the epoch's training batches (weight steps)
  double train_accuracy = 0; ///< fraction in [0, 1]
  double val_loss = 0;       ///< the whole validation split, BatchNorm in inference mode
  double val_accuracy = 0;
  double epoch_seconds = 0;         ///< wall time of the epoch (search steps and validation)
  double step_seconds = 0;          ///< time in search steps, mean over ranks
  double allreduce_seconds = 0;     ///< of which inside the allreduce, mean over ranks
  double allreduce_seconds_max = 0; ///< the same, of the rank that waited longest
  space::Architecture genotype;     ///< derived by the DARTS rule: image cells or a recurrent cell
  std::int32_t normal_skip_connections = 0; ///< image cells; 0 for a recurrent cell
  // alpha after the epoch, [edges * ops] row-major: alpha_normal and alpha_reduce of image cells
  // (kEdges x kOps), or alpha_recurrent of a recurrent cell (recurrent_edges x kRecurrentOps).
  // The other space's stay empty.
  std::vector<double> alpha_normal;
  std::vector<double> alpha_reduce;
  std::vector<double> alpha_recurrent;

  template <typename Self, typename Visit> static void fields(Self& self, Visit&& visit) {
    visit("epoch", self.epoch);
    visit("steps", self.steps);
    visit("genotype", self.genotype);
    visit("learning_rate", self.learning_rate);
    visit("train_loss", self.train_loss);
    visit("train_accuracy", self.train_accuracy);
    visit("val_loss", self.val_loss);
    visit("val_accuracy", self.val_accuracy);
    visit("epoch_seconds", self.epoch_seconds);
    visit("normal_skip_connections", self.normal_skip_connections);
    visit("step_seconds", self.step_seconds);
    visit("allreduce_seconds", self.allreduce_seconds);
    visit("allreduce_seconds_max", self.allreduce_seconds_max);
  }
};

} // namespace hpcnas::darts
