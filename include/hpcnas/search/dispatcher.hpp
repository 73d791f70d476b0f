#pragma once
/// The controller's bookkeeping, free of MPI so that a live run and a resumed run's replay go
/// through the same code: which ids are out, which are owed to a trainer, what to hand out next.
///
/// The rule a live run follows, and a replay repeats: after each result is accepted, the trainer
/// that returned it asks for its next request (unless it was recorded as lost: then nobody does). A request is taken from the owed queue first
/// (evaluations handed out before a restart and never returned), else proposed by the strategy
/// while fewer than `budget` ids were handed out. Because proposals depend only on the strategy's
/// state and the order of results, replaying the recorded results in order after the newest
/// checkpoint regenerates every proposal, including those lost with a killed run.

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hpcnas/search/asha.hpp"
#include "hpcnas/search/strategy.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::search {

/// Rank 0's zero-cost prefilter (--prefilter): each new request draws `candidates` proposals
/// from the strategy, hands out the one `score` ranks highest (the first drawn on a tie; NaN
/// ranks lowest) and discards the others (Strategy::discard). The score must depend on the
/// genotype alone, so that a replay after a restart draws the same children again.
struct Prefilter {
  int candidates = 1;
  std::function<double(const space::Architecture&)> score; ///< empty: no prefilter
};

/// How long children train: every child `epochs` (the run's --epochs), or, with rungs, as
/// asynchronous successive halving decides (AshaScheduler).
struct Fidelity {
  int epochs = 0;         ///< without rungs: every child's epochs (0: not trained, the surrogate)
  std::vector<int> rungs; ///< ASHA's rungs in epochs, increasing; empty: no scheduler
  int eta = 3;
};

/// An evaluation handed out (or owed) and not yet returned.
struct Outstanding {
  space::Architecture genotype;
  double proxy_score = std::numeric_limits<double>::quiet_NaN(); ///< the prefilter's, or NaN
  int epochs = 0;                                                ///< as train::EvalRequest
  int from_epochs = 0;                                           ///< as train::EvalRequest
  std::int64_t continues = -1;                                   ///< as train::EvalRequest
};

/// What a checkpoint holds of the controller, besides the strategy's own state.
struct DispatchState {
  std::int64_t next_id = 0;  ///< ids 0..next_id-1 were handed out
  std::int64_t recorded = 0; ///< results accepted (rows of the run file covered by the state)
  std::map<std::int64_t, Outstanding> outstanding; ///< by id
  /// The outstanding ids not yet handed to a trainer, in the order they will be.
  std::vector<std::int64_t> owed;
  std::vector<char> strategy_state;
  std::string scheduler_state; ///< the AshaScheduler's; empty without one
};

class Dispatcher {
public:
  Dispatcher(Strategy& strategy, std::int64_t budget, std::uint64_t run_seed,
             Prefilter prefilter = {}, const Fidelity& fidelity = {});

  /// The request for an idle trainer, or nothing once `budget` ids are out and none is owed.
  std::optional<train::EvalRequest> next_request();
  /// A result arrived (arrival order): it gets what rank 0 knows of it (proxy score, epochs, the
  /// evaluation it continued); the scheduler records it; the strategy observes the results of
  /// the children it proposed (with a scheduler: their first rung), not their promotions.
  void accept(train::EvalResult& result);
  /// Repeats, from a recorded row, what a live run did with it: accept it, then take the request
  /// its trainer got next (which stays outstanding).
  void replay(const train::EvalResult& recorded_row);
  /// After a replay: every outstanding evaluation was handed to a trainer of the stopped run and
  /// never came back, so it is owed (in id order) to the trainers of this run.
  void owe_outstanding();

  std::int64_t recorded() const { return recorded_; }
  std::int64_t budget() const { return budget_; }
  bool done() const { return recorded_ >= budget_; }
  /// Requests handed out or owed and not returned.
  std::size_t outstanding() const { return outstanding_.size(); }

  DispatchState save() const;
  void restore(const DispatchState& state);

private:
  train::EvalRequest request(std::int64_t id, const Outstanding& entry) const;
  /// A promotion when the scheduler makes one, else the strategy's next proposal, through the
  /// prefilter when there is one.
  Outstanding next_evaluation();
  Outstanding propose();

  Strategy& strategy_;
  std::int64_t budget_;
  std::uint64_t run_seed_;
  Prefilter prefilter_;
  int epochs_;
  std::optional<AshaScheduler> scheduler_;
  std::int64_t next_id_ = 0;
  std::int64_t recorded_ = 0;
  std::map<std::int64_t, Outstanding> outstanding_;
  std::deque<std::int64_t> owed_;
};

} // namespace hpcnas::search
