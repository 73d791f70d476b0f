#include "hpcnas/comm/pool.hpp"
#include "hpcnas/space/byte_stream.hpp"

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

namespace hpcnas::comm {
namespace {

enum Tag : int { kWork = 1, kStop = 2, kResult = 3, kStopping = 4, kAlive = 5 };

/// Waits until a message from `source` (or any source) is pending, polling with a sleep that
/// grows from 20 us to 1 ms: cheap on a shared node, at most 1 ms late. Returns false when
/// `give_up` says so first.
bool wait_for_message(int source, MPI_Status& status, const std::function<bool()>& give_up) {
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    int pending = 0;
    MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &pending, &status);
    if (pending)
      return true;
    if (give_up && give_up())
      return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

std::vector<char> receive(const MPI_Status& status) {
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::vector<char> bytes(count);
  MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  return bytes;
}

void send(const std::vector<char>& bytes, int dest, int tag) {
  MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD);
}

} // namespace

std::vector<char> pack_request(const train::EvalRequest& request) {
  space::ByteWriter w;
  w.put(request.id);
  w.put(request.seed);
  w.put_architecture(request.genotype);
  w.put(request.epochs);
  w.put(request.from_epochs);
  w.put(request.continues);
  return w.take();
}

train::EvalRequest unpack_request(const std::vector<char>& bytes) {
  space::ByteReader r(bytes, "pool protocol message");
  train::EvalRequest request;
  request.id = r.get<std::int64_t>();
  request.seed = r.get<std::uint64_t>();
  request.genotype = r.get_architecture();
  request.epochs = r.get<int>();
  request.from_epochs = r.get<int>();
  request.continues = r.get<std::int64_t>();
  return request;
}

// A result travels as its fields in the order EvalResult::fields lists them: numbers and the
// status as bytes, the genotype as its encoding, the message as a length and its characters.
std::vector<char> pack_result(const train::EvalResult& result) {
  space::ByteWriter w;
  train::EvalResult::fields(result, [&w](const char*, const auto& field) {
    using T = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<T, space::Architecture>)
      w.put_architecture(field);
    else if constexpr (std::is_same_v<T, std::string>)
      w.put_string(field);
    else
      w.put(field);
  });
  return w.take();
}

train::EvalResult unpack_result(const std::vector<char>& bytes) {
  space::ByteReader r(bytes, "pool protocol message");
  train::EvalResult result;
  train::EvalResult::fields(result, [&r](const char*, auto& field) {
    using T = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<T, space::Architecture>)
      field = r.get_architecture();
    else if constexpr (std::is_same_v<T, std::string>)
      field = r.get_string();
    else
      field = r.get<T>();
  });
  return result;
}

PoolExit run_controller(const MpiContext& ctx, search::Dispatcher& dispatcher,
                        const ControllerHooks& hooks, const TrainerWatch& watch,
                        train::Evaluator* local) {
  // Rank 0's time in the strategy (Dispatcher::accept observes, next_request proposes), handed
  // to the record of the result that caused it.
  double strategy_seconds = 0;
  auto timed = [&strategy_seconds](const auto& step) {
    const auto start = std::chrono::steady_clock::now();
    step();
    strategy_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto next_request = [&] {
    std::optional<train::EvalRequest> request;
    timed([&] { request = dispatcher.next_request(); });
    return request;
  };
  auto accept = [&](train::EvalResult& result) { timed([&] { dispatcher.accept(result); }); };
  auto record = [&](const train::EvalResult& result, train::ControllerTiming timing) {
    timing.strategy_seconds = std::exchange(strategy_seconds, 0.0);
    hooks.record(result, timing);
  };

  if (ctx.size() == 1) {
    if (local == nullptr)
      throw std::logic_error("one-rank run needs a local evaluator");
    local->set_interrupt(hooks.stop_requested);
    auto request = next_request();
    hooks.checkpoint(false);
    while (request) {
      train::ControllerTiming timing;
      timing.dispatched = train::unix_time();
      train::EvalResult result = local->evaluate(*request);
      timing.received = train::unix_time();
      if (result.status == train::EvalStatus::kInterrupted || hooks.stop_requested()) {
        hooks.checkpoint(true);
        return PoolExit::kStopped;
      }
      result.rank = 0;
      accept(result);
      request = next_request();
      record(result, timing);
      hooks.checkpoint(false);
    }
    return PoolExit::kCompleted;
  }

  const std::vector<char> no_more_work;
  const int trainers = ctx.size() - 1;
  std::vector<bool> busy(ctx.size(), false);
  std::vector<bool> lost(ctx.size(), false);
  std::vector<bool> waiting(ctx.size(), false); ///< asked for work when there was none
  std::vector<train::EvalRequest> in_hand(ctx.size());
  std::vector<double> dispatched_at(ctx.size(), 0.0);
  std::vector<double> last_heard(ctx.size(), 0.0);
  int lost_count = 0;
  auto dispatch = [&](int trainer) {
    auto request = next_request();
    busy[trainer] = request.has_value();
    dispatched_at[trainer] = last_heard[trainer] = train::unix_time();
    if (request) {
      in_hand[trainer] = *request;
      send(pack_request(*request), trainer, kWork);
    } else {
      // Told to stop only when the run ends: a rank that left now would wait in MPI_Finalize
      // for the ranks still training, past MpiContext's bound, and its early exit would make
      // the launcher abort the whole job.
      waiting[trainer] = true;
    }
  };
  // When the run ends every trainer is told to stop: those waiting for work, and those still
  // evaluating (a stop, or a budget lowered on resume), whose results are dropped and stay owed
  // in the checkpoint.
  auto stop_trainers = [&] {
    for (int trainer = 1; trainer < ctx.size(); ++trainer)
      if ((busy[trainer] || waiting[trainer]) && !lost[trainer])
        send(no_more_work, trainer, kStop);
  };
  // A busy trainer unheard for watch.silence_seconds, or without a result watch.result_seconds
  // after its request, is lost. Checked at most every 100 ms, and only when no message is
  // pending, so heartbeats queued behind a slow checkpoint are read before anyone is judged.
  double next_check = 0;
  std::string lost_reason;
  auto find_lost = [&]() -> int {
    const double now = train::unix_time();
    if (now < next_check)
      return 0;
    next_check = now + 0.1;
    for (int trainer = 1; trainer < ctx.size(); ++trainer) {
      if (!busy[trainer] || lost[trainer])
        continue;
      const double silent = now - last_heard[trainer];
      const double waited = now - dispatched_at[trainer];
      char reason[160];
      if (watch.silence_seconds > 0 && silent > watch.silence_seconds)
        std::snprintf(reason, sizeof reason, "unheard for %.1f s (--trainer-timeout %g)", silent,
                      watch.silence_seconds);
      else if (watch.result_seconds > 0 && waited > watch.result_seconds)
        std::snprintf(reason, sizeof reason, "no result %.1f s after its request (limit %g s)",
                      waited, watch.result_seconds);
      else
        continue;
      lost_reason = reason;
      return trainer;
    }
    return 0;
  };
  // Records the lost trainer's evaluation as lost (a child that killed its trainer, by memory
  // for instance, would kill the next one too, so it is not handed out again) and tells the
  // trainer to stop, in case it is alive but stuck. The search goes on with the others.
  auto lose = [&](int trainer) {
    train::EvalResult result;
    result.id = in_hand[trainer].id;
    result.genotype = in_hand[trainer].genotype;
    result.status = train::EvalStatus::kLost;
    result.rank = trainer;
    result.started = dispatched_at[trainer];
    result.finished = train::unix_time();
    const int left = trainers - lost_count - 1;
    result.message = "rank " + std::to_string(trainer) + " lost: " + lost_reason + "; " +
                     std::to_string(left) + (left == 1 ? " trainer" : " trainers") + " left";
    lost[trainer] = true;
    busy[trainer] = false;
    ++lost_count;
    send(no_more_work, trainer, kStop);
    train::ControllerTiming timing;
    timing.dispatched = dispatched_at[trainer];
    timing.received = result.finished;
    accept(result);
    record(result, timing);
    if (lost_count == trainers && !dispatcher.done()) {
      hooks.checkpoint(true);
      throw std::runtime_error("every trainer was lost (the last: " + result.message +
                               "); what was recorded is kept: continue with --resume");
    }
    hooks.checkpoint(false);
  };
  for (int trainer = 1; trainer < ctx.size(); ++trainer)
    dispatch(trainer);
  hooks.checkpoint(false);
  while (!dispatcher.done()) {
    MPI_Status status;
    int silent_trainer = 0;
    const bool arrived = wait_for_message(MPI_ANY_SOURCE, status, [&] {
      return hooks.stop_requested() || (silent_trainer = find_lost()) != 0;
    });
    if (!arrived && silent_trainer != 0) {
      lose(silent_trainer);
      continue;
    }
    const int trainer = arrived ? status.MPI_SOURCE : 0;
    if (arrived && lost[trainer]) {
      receive(status); // late word from a trainer already given up on: its evaluation is recorded
      continue;
    }
    if (!arrived || status.MPI_TAG == kStopping) {
      if (arrived)
        receive(status);
      hooks.checkpoint(true);
      stop_trainers();
      return PoolExit::kStopped;
    }
    last_heard[trainer] = train::unix_time();
    if (status.MPI_TAG == kAlive) {
      receive(status);
      continue;
    }
    if (status.MPI_TAG != kResult)
      throw std::runtime_error("pool protocol: unexpected tag " + std::to_string(status.MPI_TAG) +
                               " from rank " + std::to_string(trainer));
    train::EvalResult result = unpack_result(receive(status));
    train::ControllerTiming timing;
    timing.dispatched = dispatched_at[trainer];
    timing.received = train::unix_time();
    accept(result);
    dispatch(trainer);
    record(result, timing);
    hooks.checkpoint(false);
  }
  stop_trainers();
  return PoolExit::kCompleted;
}

void run_trainer(const MpiContext& ctx, train::Evaluator& evaluator,
                 const std::function<bool()>& stop_signalled, double heartbeat_seconds) {
  // A trainer abandons its child when signalled itself or when the controller says stop. The
  // same poll tells the controller, every heartbeat_seconds, that this trainer is alive.
  double next_heartbeat = 0;
  evaluator.set_interrupt([&] {
    if (heartbeat_seconds > 0) {
      const double now = train::unix_time();
      if (now >= next_heartbeat) {
        if (next_heartbeat > 0)
          send({}, 0, kAlive);
        next_heartbeat = now + heartbeat_seconds;
      }
    }
    int stop = 0;
    MPI_Iprobe(0, kStop, MPI_COMM_WORLD, &stop, MPI_STATUS_IGNORE);
    return stop || stop_signalled();
  });
  bool told_controller = false;
  auto signalled = [&] { return !told_controller && stop_signalled(); };
  for (;;) {
    MPI_Status status;
    if (!wait_for_message(0, status, signalled)) {
      send({}, 0, kStopping);
      told_controller = true;
      continue;
    }
    const std::vector<char> bytes = receive(status);
    if (status.MPI_TAG == kStop)
      return;
    if (status.MPI_TAG != kWork)
      throw std::runtime_error("pool protocol: unexpected tag " + std::to_string(status.MPI_TAG));
    next_heartbeat = 0; // the request itself restarted the controller's clock
    train::EvalResult result = evaluator.evaluate(unpack_request(bytes));
    if (result.status == train::EvalStatus::kInterrupted) {
      if (!told_controller && stop_signalled()) {
        send({}, 0, kStopping);
        told_controller = true;
      }
      continue; // the controller's kStop follows
    }
    result.rank = ctx.rank();
    send(pack_result(result), 0, kResult);
  }
}

} // namespace hpcnas::comm
