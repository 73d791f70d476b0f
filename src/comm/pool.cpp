#include "hpcnas/comm/pool.hpp"

#include <mpi.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace hpcnas::comm {
namespace {

enum Tag : int { kWork = 1, kStop = 2, kResult = 3 };

class Writer {
public:
  template <typename T> void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const char*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void put_genotype(const space::Genotype& g) {
    for (int v : g.encode())
      put(static_cast<std::int32_t>(v));
  }
  std::vector<char> take() { return std::move(bytes_); }

private:
  std::vector<char> bytes_;
};

class Reader {
public:
  explicit Reader(const std::vector<char>& bytes) : bytes_(bytes) {}
  template <typename T> T get() {
    need(sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string get_string() {
    const auto n = get<std::uint32_t>();
    need(n);
    std::string s(bytes_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  space::Genotype get_genotype() {
    std::vector<int> code(space::kEncodingLength);
    for (int& v : code)
      v = get<std::int32_t>();
    return space::Genotype::decode(code);
  }

private:
  void need(std::size_t n) const {
    if (pos_ + n > bytes_.size())
      throw std::runtime_error("pool protocol: truncated message");
  }
  const std::vector<char>& bytes_;
  std::size_t pos_ = 0;
};

/// Blocks until a message from `source` (or any source) is pending, polling with a sleep that
/// grows from 20 us to 1 ms: cheap on a shared node, at most 1 ms late.
MPI_Status wait_for_message(int source) {
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    int pending = 0;
    MPI_Status status;
    MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &pending, &status);
    if (pending)
      return status;
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
  Writer w;
  w.put(request.id);
  w.put(request.seed);
  w.put_genotype(request.genotype);
  return w.take();
}

train::EvalRequest unpack_request(const std::vector<char>& bytes) {
  Reader r(bytes);
  train::EvalRequest request;
  request.id = r.get<std::int64_t>();
  request.seed = r.get<std::uint64_t>();
  request.genotype = r.get_genotype();
  return request;
}

std::vector<char> pack_result(const train::EvalResult& result) {
  Writer w;
  w.put(result.id);
  w.put(result.status);
  w.put(result.reward);
  w.put(result.val_accuracy);
  w.put(result.params);
  w.put(result.flops);
  w.put(result.latency_ms);
  w.put(result.train_seconds);
  w.put(result.rank);
  w.put(result.started);
  w.put(result.finished);
  w.put_genotype(result.genotype);
  w.put_string(result.message);
  return w.take();
}

train::EvalResult unpack_result(const std::vector<char>& bytes) {
  Reader r(bytes);
  train::EvalResult result;
  result.id = r.get<std::int64_t>();
  result.status = r.get<train::EvalStatus>();
  result.reward = r.get<double>();
  result.val_accuracy = r.get<double>();
  result.params = r.get<std::int64_t>();
  result.flops = r.get<std::int64_t>();
  result.latency_ms = r.get<double>();
  result.train_seconds = r.get<double>();
  result.rank = r.get<std::int32_t>();
  result.started = r.get<double>();
  result.finished = r.get<double>();
  result.genotype = r.get_genotype();
  result.message = r.get_string();
  return result;
}

void run_controller(const MpiContext& ctx, search::Strategy& strategy, const ResultSink& record,
                    const PoolOptions& options, train::Evaluator* local) {
  std::int64_t next_id = 0;
  auto next_request = [&] {
    train::EvalRequest request;
    request.id = next_id++;
    request.seed = train::evaluation_seed(options.run_seed, request.id);
    request.genotype = strategy.propose();
    return request;
  };
  auto accept = [&](const train::EvalResult& result) {
    strategy.observe(result);
    record(result);
  };

  if (ctx.size() == 1) {
    if (local == nullptr)
      throw std::logic_error("one-rank run needs a local evaluator");
    while (next_id < options.budget) {
      train::EvalResult result = local->evaluate(next_request());
      result.rank = 0;
      accept(result);
    }
    return;
  }

  const std::vector<char> no_more_work;
  std::int64_t recorded = 0;
  for (int trainer = 1; trainer < ctx.size(); ++trainer) {
    if (next_id < options.budget)
      send(pack_request(next_request()), trainer, kWork);
    else
      send(no_more_work, trainer, kStop);
  }
  while (recorded < options.budget) {
    const MPI_Status status = wait_for_message(MPI_ANY_SOURCE);
    if (status.MPI_TAG != kResult)
      throw std::runtime_error("pool protocol: unexpected tag " + std::to_string(status.MPI_TAG) +
                               " from rank " + std::to_string(status.MPI_SOURCE));
    accept(unpack_result(receive(status)));
    ++recorded;
    if (next_id < options.budget)
      send(pack_request(next_request()), status.MPI_SOURCE, kWork);
    else
      send(no_more_work, status.MPI_SOURCE, kStop);
  }
}

void run_trainer(const MpiContext& ctx, train::Evaluator& evaluator) {
  for (;;) {
    const MPI_Status status = wait_for_message(0);
    const std::vector<char> bytes = receive(status);
    if (status.MPI_TAG == kStop)
      return;
    if (status.MPI_TAG != kWork)
      throw std::runtime_error("pool protocol: unexpected tag " + std::to_string(status.MPI_TAG));
    train::EvalResult result = evaluator.evaluate(unpack_request(bytes));
    result.rank = ctx.rank();
    send(pack_result(result), 0, kResult);
  }
}

} // namespace hpcnas::comm
