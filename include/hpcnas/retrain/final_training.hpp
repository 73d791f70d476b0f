#pragma once
/// `hpcnas train`: a genotype trained from scratch under DARTS's evaluation protocol, data-
/// parallel over the ranks of a Collective, then tested and exported. An image genotype trains
/// its network on an image dataset; a recurrent cell (or a plain LSTM or GRU, the baselines)
/// trains a text classifier on a text dataset, with the validation split as the holdout.
/// Torch-free header.
///
/// Batches: each epoch draws a permutation of the training images seeded by the run seed and the
/// epoch, identical on every rank. Step b takes global batch b of size --batch-size (a last
/// partial batch is dropped), cut into ranks x --accumulate contiguous micro-batches; rank r
/// trains on micro-batches r*K .. r*K+K-1. Every random choice per image (crop offset, flip,
/// cutout position, drop-path masks) is a hash of (seed, epoch or step, image position in the
/// global batch), so the gradient sum of a step is the same whatever the number of ranks: only
/// BatchNorm's batch changes with the micro-batch size. Gradients are summed with one allreduce
/// of one flat buffer per step; every rank then takes the same SGD step.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hpcnas/comm/collective.hpp"
#include "hpcnas/config/search_config.hpp"
#include "hpcnas/retrain/records.hpp"
#include "hpcnas/space/architecture.hpp"

namespace hpcnas::retrain {

/// What a final training trains: an architecture of either space or, on a text dataset, a
/// baseline text classifier (a plain LSTM or GRU in the cell's place).
class TrainedModel {
public:
  TrainedModel(space::Architecture architecture) // NOLINT: implicit
      : architecture_(std::move(architecture)) {}
  TrainedModel(space::Genotype genotype) : architecture_(std::move(genotype)) {}  // NOLINT
  TrainedModel(space::RecurrentGenotype cell) : architecture_(std::move(cell)) {} // NOLINT
  /// "lstm" or "gru"; throws std::invalid_argument for another name.
  static TrainedModel baseline(const std::string& kind);
  /// A DARTS genotype text of either kind, or "lstm" or "gru".
  static TrainedModel parse(const std::string& text);

  bool is_baseline() const { return !baseline_.empty(); }
  const std::string& baseline_kind() const { return baseline_; }
  /// Throws std::logic_error for a baseline.
  const space::Architecture& architecture() const;
  /// Whether it classifies texts (a recurrent cell or a baseline) rather than images.
  bool is_text() const { return is_baseline() || architecture_.is_recurrent(); }
  /// The genotype's DARTS text, or the baseline's name.
  std::string to_string() const { return is_baseline() ? baseline_ : architecture_.to_string(); }

private:
  TrainedModel() = default;
  space::Architecture architecture_;
  std::string baseline_;
};

/// Where a training stands: the epoch in progress (0-based) and the steps of it already taken.
struct Position {
  int epoch = 0;
  std::int64_t step = 0;
};

/// How run() reports, checkpoints and stops; every callback is called on every rank at the same
/// point of the training.
struct Hooks {
  /// After each epoch, with its record (identical on every rank).
  std::function<void(const TrainEpochRow&)> on_epoch;
  /// Within an epoch, at most once per progress_seconds: steps done, steps in the epoch, the
  /// running training loss and accuracy, on rank 0's clock.
  std::function<void(int epoch, std::int64_t step, std::int64_t steps, double loss,
                     double accuracy)>
      on_progress;
  double progress_seconds = 60;
  /// Time to checkpoint at `position` (save_state() gives the bytes): after every epoch, when
  /// checkpoint_seconds passed on rank 0's clock, and on a stop.
  std::function<void(Position position)> checkpoint;
  /// Whether this rank was asked to stop (a signal). A request on any rank stops all of them
  /// after the same step.
  std::function<bool()> stop_requested;
  double checkpoint_seconds = 0; ///< 0: only after epochs and on a stop
};

enum class RunEnd {
  kCompleted, ///< every epoch ran
  kStopped,   ///< a stop request; a checkpoint was taken first
};

class FinalTraining {
public:
  /// Loads the data (throws data::DataError) and builds the network of `model` seeded by
  /// cfg.seed, on cfg.device. Throws std::invalid_argument when the model does not fit the
  /// dataset (an image genotype on texts, a cell on images), the batch cannot be split or the
  /// training set is smaller than a batch, or the device is unusable. Calls no collective, so a
  /// failure on one rank can be agreed on; the first step starts every rank from rank 0's
  /// parameters.
  FinalTraining(const config::FinalTrainConfig& cfg, const TrainedModel& model,
                comm::Collective& host, comm::Collective& tensors);
  FinalTraining(const config::FinalTrainConfig& cfg, const TrainedModel& model,
                comm::Collective& collective)
      : FinalTraining(cfg, model, collective, collective) {}
  ~FinalTraining();
  FinalTraining(const FinalTraining&) = delete;
  FinalTraining& operator=(const FinalTraining&) = delete;

  /// Trains from the current position to cfg.epochs.
  RunEnd run(const Hooks& hooks);
  /// Trains exactly `steps` steps of the current epoch from the current position, without
  /// hooks (for tests).
  void run_steps(std::int64_t steps);

  /// The final model on the test set (collective), BatchNorm statistics of rank 0.
  TestResults test();
  /// Rank 0 only, no communication: writes the ONNX model and returns the logits of the first
  /// `images` test images as the check sample. Throws deploy::ExportError (and always for a
  /// text classifier: not supported).
  ExportSample export_onnx(const std::string& path, int images);

  /// Weights, BatchNorm statistics, momentum, position and the progress of a partly done epoch,
  /// serialised; the same bytes on every rank.
  std::vector<char> save_state() const;
  /// Rank 0 passes the saved bytes, the others nothing; rank 0's are broadcast and restored on
  /// every rank (collective). Empty bytes start from the beginning. Throws std::runtime_error
  /// on every rank when the state does not fit this network.
  void resume(const std::vector<char>& state_on_root);
  Position position() const;

  std::int64_t parameters() const;
  /// Every weight, flattened (for tests).
  std::vector<double> flat_weights() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// `hpcnas bench --what final`: median seconds of one training step of `hpcnas train` on one
/// process, after cfg.warmup steps: the DARTS_V2 evaluation network of cfg.network on
/// Fashion-MNIST at the documented run's settings (docs/results/fashion-mnist: crop padding 2,
/// flip, no cutout, auxiliary head weighted 0.4) with drop-path 0.2, DARTS's final probability;
/// the batch's augmentation, forward, backward and SGD step with clipping. Throws
/// data::DataError when Fashion-MNIST is not installed.
double bench_final_step(const config::BenchConfig& cfg);

} // namespace hpcnas::retrain
