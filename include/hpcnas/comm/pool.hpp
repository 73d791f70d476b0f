#pragma once
/// The asynchronous controller/trainer pool of `hpcnas search`.
///
/// Protocol (MPI_COMM_WORLD, point to point, rank 0 = controller):
///   controller -> trainer  tag kWork    [id:int64][seed:uint64][encoding: kEncodingLength x int32]
///   controller -> trainer  tag kStop    (empty) no more work: the trainer returns
///   trainer -> controller  tag kResult  one packed EvalResult (fixed fields, then genotype
///                                       encoding, then the failure message)
/// Each trainer holds at most one request. The controller primes every trainer, then for each
/// result that arrives: observe it, record it (the run file is flushed), and only then hand that
/// trainer its next request, or kStop once `budget` evaluations are out. The loop ends when all
/// `budget` results are recorded, so every rank leaves with nothing pending. Waiting is by
/// polling with a short sleep, so an idle controller does not take a core from trainers that
/// share its node.

#include <cstdint>
#include <functional>
#include <vector>

#include "hpcnas/comm/mpi_context.hpp"
#include "hpcnas/search/strategy.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::comm {

struct PoolOptions {
  std::int64_t budget = 1;    ///< results to record
  std::uint64_t run_seed = 0; ///< per-evaluation seeds derive from it and the id
};

/// Called on rank 0 for each result in arrival order, after the strategy observed it.
using ResultSink = std::function<void(const train::EvalResult&)>;

/// Rank 0. `local` evaluates on rank 0 itself when the world has one rank (may be null otherwise).
void run_controller(const MpiContext& ctx, search::Strategy& strategy, const ResultSink& record,
                    const PoolOptions& options, train::Evaluator* local);

/// Ranks 1..N-1: evaluate requests until told to stop.
void run_trainer(const MpiContext& ctx, train::Evaluator& evaluator);

/// Byte packing of the protocol's messages (exposed for the unit test of the wire format).
std::vector<char> pack_request(const train::EvalRequest& request);
train::EvalRequest unpack_request(const std::vector<char>& bytes);
std::vector<char> pack_result(const train::EvalResult& result);
train::EvalResult unpack_result(const std::vector<char>& bytes);

} // namespace hpcnas::comm
