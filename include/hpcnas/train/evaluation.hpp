#pragma once
/// What one evaluation of a child architecture asks for and returns, and the Evaluator
/// interface that trains (or imitates training of) a child. No LibTorch here: the controller,
/// the protocol and the run file use these types without pulling in torch.

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "hpcnas/space/architecture.hpp"

namespace hpcnas::train {

/// Outcome of an evaluation. A failed child is data, not an exception.
enum class EvalStatus : std::int32_t {
  kOk = 0,
  kDiverged = 1,    ///< NaN or Inf loss
  kError = 2,       ///< an exception while building, training or measuring
  kTimeout = 3,     ///< ran past --eval-timeout
  kInterrupted = 4, ///< abandoned because the run is stopping; never recorded
  kLost = 5,        ///< its trainer died or went silent; recorded by rank 0, not retried
};

/// "ok", "diverged", "error", "timeout", "interrupted", "lost".
const char* status_name(EvalStatus status);
/// Inverse of status_name; throws std::invalid_argument for an unknown name.
EvalStatus status_from_name(const std::string& name);
/// A status as a field of a record (a run-file column): its name.
inline std::string to_text(EvalStatus status) { return status_name(status); }
inline void from_text(const std::string& text, EvalStatus& status) {
  status = status_from_name(text);
}

/// One unit of work handed to a trainer. The seed is derived from the run seed and the id, so
/// any evaluation can be reproduced alone.
struct EvalRequest {
  std::int64_t id = 0;
  std::uint64_t seed = 0;
  space::Architecture genotype; ///< an image genotype or a recurrent cell
  int epochs = 0;      ///< epochs trained in all after this evaluation; 0: the run's --epochs
  int from_epochs = 0; ///< epochs the continued child has trained; 0 for a new child
  std::int64_t continues = -1; ///< the evaluation whose saved weights it continues; -1: none
};

/// Seed of evaluation `id` in a run seeded with `run_seed` (a splitmix64 mix of both).
std::uint64_t evaluation_seed(std::uint64_t run_seed, std::int64_t id);

/// A record: its fields are listed once, in fields(), and from that list follow the pool's
/// message and the run file's columns (one per field, named as listed). A field is a number, a
/// std::string, or a type with to_text/from_text (stored as text).
struct EvalResult {
  std::int64_t id = 0;
  space::Architecture genotype;
  EvalStatus status = EvalStatus::kOk;
  double reward = 0;       ///< what the strategy maximises; 0 for a failed child
  double val_accuracy = 0; ///< fraction in [0, 1]
  std::int64_t params = 0; ///< trainable parameters
  std::int64_t flops = 0;  ///< FLOPs of one forward pass of one image (2 per multiply-add)
  double latency_ms = 0;   ///< median inference latency
  double train_seconds = 0;
  std::int32_t rank = 0; ///< MPI rank that evaluated it
  double started = 0;    ///< Unix time (s) when the trainer started it
  double finished = 0;   ///< Unix time (s) when the trainer finished it
  std::string message;   ///< cause of a failure; empty when ok
  /// The zero-cost proxy score that made rank 0's prefilter choose this child (filled in by the
  /// controller, see search::Prefilter); NaN when the run has no prefilter.
  double proxy_score = std::numeric_limits<double>::quiet_NaN();
  /// The child's epochs of training after this evaluation (its fidelity), filled in by the
  /// controller; 0 for the surrogate without a scheduler, -1 in files older than the column.
  std::int32_t epochs = -1;
  /// The evaluation this one continued from its saved weights (an ASHA promotion); -1: none.
  std::int64_t continues = -1;

  /// Calls visit(name, field) for every field, in wire and column order.
  template <typename Self, typename Visit> static void fields(Self& self, Visit&& visit) {
    visit("id", self.id);
    visit("genotype", self.genotype);
    visit("reward", self.reward);
    visit("val_accuracy", self.val_accuracy);
    visit("params", self.params);
    visit("flops", self.flops);
    visit("latency_ms", self.latency_ms);
    visit("train_seconds", self.train_seconds);
    visit("rank", self.rank);
    visit("status", self.status);
    visit("message", self.message);
    visit("started", self.started);
    visit("finished", self.finished);
    visit("proxy_score", self.proxy_score);
    visit("epochs", self.epochs);
    visit("continues", self.continues);
  }
};

/// Rank 0's side of one evaluation, recorded beside the trainer's result for scaling studies
/// (per-rank busy, idle and communication time after the fact).
struct ControllerTiming {
  double dispatched = 0;       ///< Unix time (s) rank 0 sent the request
  double received = 0;         ///< Unix time (s) rank 0 received the result
  double strategy_seconds = 0; ///< rank 0 in the strategy: accepting it, proposing the next
  double store_seconds = 0;    ///< rank 0 in HDF5 since the previous row (its append, checkpoints)

  /// A record (see EvalResult): its columns sit beside the result's in the run file.
  template <typename Self, typename Visit> static void fields(Self& self, Visit&& visit) {
    visit("dispatched", self.dispatched);
    visit("received", self.received);
    visit("rank0_strategy_seconds", self.strategy_seconds);
    visit("rank0_store_seconds", self.store_seconds);
  }
};

/// Trains and measures one child (or imitates it). Implementations catch their own failures
/// and report them through EvalResult::status.
class Evaluator {
public:
  virtual ~Evaluator() = default;
  virtual EvalResult evaluate(const EvalRequest& request) = 0;
  /// A check the evaluator polls at least every few seconds (between minibatches and validation
  /// batches, or while it waits): when it returns true the evaluation is abandoned with status
  /// kInterrupted. The pool's trainers also send their heartbeats from it.
  virtual void set_interrupt(std::function<bool()> interrupt) { interrupt_ = std::move(interrupt); }

protected:
  bool interrupted() const { return interrupt_ && interrupt_(); }

private:
  std::function<bool()> interrupt_;
};

/// Seconds since the Unix epoch, as a double.
double unix_time();

/// Test hook (--fail-ids): wraps an evaluator so that the listed ids come back as kError
/// without being evaluated, the way a crashing child would.
std::unique_ptr<Evaluator> with_forced_failures(std::unique_ptr<Evaluator> inner,
                                                std::vector<std::int64_t> ids);

} // namespace hpcnas::train
