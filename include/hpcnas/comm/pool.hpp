#pragma once
/// The asynchronous controller/trainer pool of `hpcnas search`.
///
/// Protocol (MPI_COMM_WORLD, point to point, rank 0 = controller):
///   controller -> trainer  tag kWork    [id:int64][seed:uint64][encoding: kEncodingLength x int32]
///                                       [epochs:int32][from_epochs:int32][continues:int64]
///   controller -> trainer  tag kStop    (empty) no more work: the trainer returns
///   trainer -> controller  tag kResult  one packed EvalResult, its fields in the order
///                                       EvalResult::fields lists them
///   trainer -> controller  tag kStopping (empty) the trainer was signalled: stop the run
///   trainer -> controller  tag kAlive    (empty) heartbeat while evaluating
/// Each trainer holds at most one request. The controller primes every trainer from the
/// Dispatcher, then for each result that arrives: accepts it, hands that trainer its next request
/// (or kStop when none is left), and only then records the result (the run file is flushed), so
/// a trainer never waits for the file system; then the checkpoint hook runs. The loop ends when
/// `budget` results are recorded, so every rank leaves with nothing pending; or, on a stop
/// request, after a forced checkpoint and kStop to every trainer, when results still in flight
/// are dropped (the checkpoint owes them to the resumed run). Waiting is
/// by polling with a short sleep, so an idle controller does not take a core from trainers that
/// share its node.
///
/// A trainer that dies (killed, its node lost) while the launcher keeps the job alive (Open MPI's
/// --enable-recovery, srun --no-kill) sends nothing more: once it is unheard past the
/// TrainerWatch limits, its evaluation is recorded as `lost`, it gets no more work, and the search
/// finishes with the trainers left. Every trainer lost is an error (the run can be resumed).

#include <cstdint>
#include <functional>
#include <vector>

#include "hpcnas/comm/mpi_context.hpp"
#include "hpcnas/search/dispatcher.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::comm {

/// What the controller does besides dispatching; all run on rank 0.
struct ControllerHooks {
  /// A result, in arrival order, after the dispatcher accepted it, with rank 0's timing of it
  /// (store_seconds is the hook's to fill).
  std::function<void(const train::EvalResult&, const train::ControllerTiming&)> record;
  /// After each dispatch round; `force` on a stop. Writes a checkpoint when one is due.
  std::function<void(bool force)> checkpoint;
  /// Polled while waiting: a signal asked the run to stop.
  std::function<bool()> stop_requested;
};

/// When rank 0 gives up on a busy trainer; 0 turns a limit off.
struct TrainerWatch {
  double silence_seconds = 0; ///< no heartbeat nor result for this long
  double result_seconds = 0;  ///< no result this long after the request
};

enum class PoolExit { kCompleted, kStopped };

/// Rank 0. `local` evaluates on rank 0 itself when the world has one rank (may be null otherwise).
PoolExit run_controller(const MpiContext& ctx, search::Dispatcher& dispatcher,
                        const ControllerHooks& hooks, const TrainerWatch& watch,
                        train::Evaluator* local);

/// Ranks 1..N-1: evaluate requests until told to stop. `stop_signalled` is polled during
/// training too: a signalled trainer abandons its child and tells the controller. While
/// evaluating, a heartbeat goes to the controller every `heartbeat_seconds` (0: none).
void run_trainer(const MpiContext& ctx, train::Evaluator& evaluator,
                 const std::function<bool()>& stop_signalled, double heartbeat_seconds);

/// Byte packing of the protocol's messages (exposed for the unit test of the wire format).
std::vector<char> pack_request(const train::EvalRequest& request);
train::EvalRequest unpack_request(const std::vector<char>& bytes);
std::vector<char> pack_result(const train::EvalResult& result);
train::EvalResult unpack_result(const std::vector<char>& bytes);

} // namespace hpcnas::comm
