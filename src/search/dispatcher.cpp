#include "hpcnas/search/dispatcher.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace hpcnas::search {

Dispatcher::Dispatcher(Strategy& strategy, std::int64_t budget, std::uint64_t run_seed,
                       Prefilter prefilter)
    : strategy_(strategy), budget_(budget), run_seed_(run_seed), prefilter_(std::move(prefilter)) {}

train::EvalRequest Dispatcher::request(std::int64_t id, const space::Genotype& genotype) const {
  return {id, train::evaluation_seed(run_seed_, id), genotype};
}

std::optional<train::EvalRequest> Dispatcher::next_request() {
  if (!owed_.empty()) {
    const std::int64_t id = owed_.front();
    owed_.pop_front();
    return request(id, outstanding_.at(id).genotype);
  }
  if (next_id_ >= budget_)
    return std::nullopt;
  const std::int64_t id = next_id_++;
  const auto& [entry, added] = outstanding_.emplace(id, propose());
  return request(id, entry->second.genotype);
}

Outstanding Dispatcher::propose() {
  if (!prefilter_.score)
    return {strategy_.propose(), std::numeric_limits<double>::quiet_NaN()};
  std::vector<Outstanding> drawn;
  std::size_t best = 0;
  for (int i = 0; i < std::max(1, prefilter_.candidates); ++i) {
    space::Genotype genotype = strategy_.propose();
    const double score = prefilter_.score(genotype);
    drawn.push_back({std::move(genotype), score});
    if (score > drawn[best].proxy_score ||
        (std::isnan(drawn[best].proxy_score) && !std::isnan(score)))
      best = drawn.size() - 1;
  }
  for (std::size_t i = 0; i < drawn.size(); ++i)
    if (i != best)
      strategy_.discard(drawn[i].genotype);
  return std::move(drawn[best]);
}

void Dispatcher::accept(train::EvalResult& result) {
  const auto it = outstanding_.find(result.id);
  if (it != outstanding_.end()) {
    result.proxy_score = it->second.proxy_score;
    outstanding_.erase(it);
  }
  owed_.erase(std::remove(owed_.begin(), owed_.end(), result.id), owed_.end());
  strategy_.observe(result);
  ++recorded_;
}

void Dispatcher::replay(const train::EvalResult& recorded_row) {
  train::EvalResult row = recorded_row;
  accept(row);
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
