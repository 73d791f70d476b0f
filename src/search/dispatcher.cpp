#include "hpcnas/search/dispatcher.hpp"

#include <algorithm>

namespace hpcnas::search {

Dispatcher::Dispatcher(Strategy& strategy, std::int64_t budget, std::uint64_t run_seed)
    : strategy_(strategy), budget_(budget), run_seed_(run_seed) {}

train::EvalRequest Dispatcher::request(std::int64_t id, const space::Genotype& genotype) const {
  return {id, train::evaluation_seed(run_seed_, id), genotype};
}

std::optional<train::EvalRequest> Dispatcher::next_request() {
  if (!owed_.empty()) {
    const std::int64_t id = owed_.front();
    owed_.pop_front();
    return request(id, outstanding_.at(id));
  }
  if (next_id_ >= budget_)
    return std::nullopt;
  const std::int64_t id = next_id_++;
  const space::Genotype genotype = strategy_.propose();
  outstanding_.emplace(id, genotype);
  return request(id, genotype);
}

void Dispatcher::accept(const train::EvalResult& result) {
  outstanding_.erase(result.id);
  owed_.erase(std::remove(owed_.begin(), owed_.end(), result.id), owed_.end());
  strategy_.observe(result);
  ++recorded_;
}

void Dispatcher::replay(const train::EvalResult& recorded_row) {
  accept(recorded_row);
  if (recorded_row.status != train::EvalStatus::kLost) // a lost trainer asked for nothing more
    next_request();
}

void Dispatcher::owe_outstanding() {
  for (const auto& entry : outstanding_)
    if (std::find(owed_.begin(), owed_.end(), entry.first) == owed_.end())
      owed_.push_back(entry.first);
}

DispatchState Dispatcher::save() const {
  return {next_id_, recorded_, outstanding_, {owed_.begin(), owed_.end()}, strategy_.save_state()};
}

void Dispatcher::restore(const DispatchState& state) {
  next_id_ = state.next_id;
  recorded_ = state.recorded;
  outstanding_ = state.outstanding;
  owed_.assign(state.owed.begin(), state.owed.end());
  strategy_.load_state(state.strategy_state);
}

} // namespace hpcnas::search
