#pragma once
/// `hpcnas darts`: the bilevel supernet search, data-parallel over the ranks of a Collective.
/// Torch-free header (the app wires it to the run file without seeing torch).
///
/// Batches: each epoch draws a permutation of the training split (and one of the validation
/// split) seeded by the run seed and the epoch, identical on every rank. Step b takes global
/// batch b of size --batch-size (a last partial batch is dropped) and the next --batch-size
/// validation images (cycling). The global batch is cut into ranks x --accumulate contiguous
/// micro-batches; rank r trains on micro-batches r*K .. r*K+K-1. So the global batch and the
/// update are the same whatever the number of ranks; only BatchNorm's batch changes.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "hpcnas/comm/collective.hpp"
#include "hpcnas/config/search_config.hpp"
#include "hpcnas/space/genotype.hpp"

namespace hpcnas::darts {

/// What one epoch gives, identical on every rank.
struct EpochRecord {
  int epoch = 0;             ///< 0-based
  std::int64_t steps = 0;    ///< search steps this epoch
  double learning_rate = 0;  ///< of the weights, this epoch
  double train_loss = 0;     ///< mean over the epoch's training batches (weight steps)
  double train_accuracy = 0; ///< fraction in [0, 1]
  double val_loss = 0;       ///< the whole validation split, BatchNorm in inference mode
  double val_accuracy = 0;
  double seconds = 0;               ///< wall time of the epoch (search steps and validation)
  double step_seconds = 0;          ///< time in search steps, mean over ranks
  double allreduce_seconds = 0;     ///< of which inside the allreduce, mean over ranks
  double allreduce_seconds_max = 0; ///< the same, of the rank that waited longest
  std::vector<double> alpha_normal; ///< [kEdges * kOps] row-major, after the epoch
  std::vector<double> alpha_reduce;
  space::Genotype genotype; ///< derived by the DARTS rule
  int normal_skip_connections = 0;
};

class DartsSearch {
public:
  /// Loads the data (throws data::DataError) and builds the supernet seeded by cfg.seed. Throws
  /// std::invalid_argument when the batch cannot be split (fewer images than micro-batches) or
  /// the training split is smaller than a batch. Calls no collective, so a failure on one rank
  /// can be agreed on; the first epoch starts every rank from rank 0's parameters.
  DartsSearch(const config::DartsConfig& cfg, comm::Collective& collective);
  ~DartsSearch();
  DartsSearch(const DartsSearch&) = delete;
  DartsSearch& operator=(const DartsSearch&) = delete;

  /// Runs one epoch (0-based) and returns its record, on every rank.
  EpochRecord run_epoch(int epoch);
  /// Runs up to cfg.epochs epochs, calling on_epoch after each; stops early when it returns
  /// false (it must return the same on every rank).
  void run(const std::function<bool(const EpochRecord&)>& on_epoch);

  /// Every weight, then alpha_normal and alpha_reduce, flattened (for tests).
  std::vector<double> flat_weights() const;
  std::vector<double> flat_alphas() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// `hpcnas bench --what supernet`: median seconds of one search step (architecture step of
/// cfg.order, then weight step) on one process with random data, after cfg.warmup steps.
double bench_supernet_step(const config::BenchConfig& cfg);

} // namespace hpcnas::darts
