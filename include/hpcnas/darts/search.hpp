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
#include "hpcnas/darts/epoch_record.hpp"
#include "hpcnas/space/genotype.hpp"

namespace hpcnas::darts {

/// Where a search stands: the epoch in progress (0-based) and the steps of it already taken.
struct SearchPosition {
  int epoch = 0;
  std::int64_t step = 0;
};

/// How run() reports, checkpoints and stops. Every callback is called on every rank, at the
/// same point of the search.
struct RunHooks {
  /// After each epoch; returns false to end the search. Rank 0's answer counts for all ranks.
  std::function<bool(const EpochRecord&)> on_epoch;
  /// Time to checkpoint the search at `position` (save_state() gives the bytes): after every
  /// epoch (after on_epoch), when checkpoint_seconds passed on rank 0's clock, and on a stop.
  std::function<void(SearchPosition position)> checkpoint;
  /// Whether this rank was asked to stop (a signal). Checked after every step and epoch; a
  /// request on any rank stops all of them after the same step.
  std::function<bool()> stop_requested;
  double checkpoint_seconds = 0; ///< 0: only after epochs and on a stop
};

/// How run() ended.
enum class RunEnd {
  kCompleted,    ///< every epoch ran
  kEnded,        ///< on_epoch returned false
  kAlreadyEnded, ///< resumed from a state saved after on_epoch had returned false: nothing ran
  kStopped,      ///< a stop request; a checkpoint was taken first
};

class DartsSearch {
public:
  /// Loads the data (throws data::DataError) and builds the supernet seeded by cfg.seed, on
  /// cfg.device. Throws std::invalid_argument when the batch cannot be split (fewer images than
  /// micro-batches), the training split is smaller than a batch, or cfg.device is "cuda" and
  /// LibTorch sees no GPU or `tensors` cannot sum GPU memory over several ranks. Calls no
  /// collective, so a failure on one rank can be agreed on; the first epoch starts every rank
  /// from rank 0's parameters.
  ///
  /// `host` sums the search's bookkeeping (losses, times, stop flags) and broadcasts saved
  /// state, in host memory; `tensors` sums gradients and broadcasts parameters, in the memory of
  /// cfg.device (on GPUs: NCCL, bound to the device its cuda_device() names).
  DartsSearch(const config::DartsConfig& cfg, comm::Collective& host, comm::Collective& tensors);
  /// On CPU one collective serves both.
  DartsSearch(const config::DartsConfig& cfg, comm::Collective& collective)
      : DartsSearch(cfg, collective, collective) {}
  ~DartsSearch();
  DartsSearch(const DartsSearch&) = delete;
  DartsSearch& operator=(const DartsSearch&) = delete;

  /// Runs one whole epoch (0-based) without hooks and returns its record, on every rank.
  EpochRecord run_epoch(int epoch);
  /// Runs from the current position (epoch 0, or where resume() put it) to cfg.epochs.
  RunEnd run(const RunHooks& hooks);

  /// The search's state at its current position, serialised: weights, alpha, BatchNorm
  /// statistics, SGD momentum, Adam, the random generator, the position and the progress of a
  /// partly done epoch. The same bytes on every rank; no communication.
  std::vector<char> save_state() const;
  /// Continues from a saved state: rank 0 passes it, the other ranks pass nothing, and rank 0's
  /// bytes are broadcast (collective). Every rank then restores the same state, so the search
  /// continues the trajectory it was on; empty bytes on rank 0 start from the beginning. Throws
  /// std::runtime_error, on every rank, when the state does not fit this supernet.
  void resume(const std::vector<char>& state_on_root);
  SearchPosition position() const;

  /// Every weight, then alpha_normal and alpha_reduce, flattened (for tests).
  std::vector<double> flat_weights() const;
  std::vector<double> flat_alphas() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// `hpcnas bench --what supernet`: median seconds of one search step (architecture step of
/// cfg.order, then weight step) on one process with random data on cfg.device, after
/// cfg.warmup steps. Throws std::invalid_argument for "cuda" when LibTorch sees no GPU.
double bench_supernet_step(const config::BenchConfig& cfg);

} // namespace hpcnas::darts
