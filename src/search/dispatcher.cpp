#include "hpcnas/search/dispatcher.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace hpcnas::search {

Dispatcher::Dispatcher(Strategy& strategy, std::int64_t budget, std::uint64_t run_seed,
                       Prefilter prefilter, const Fidelity& fidelity)
    : strategy_(strategy), budget_(budget), run_seed_(run_seed), prefilter_(std::move(prefilter)),
      epochs_(fidelity.epochs) {
  if (!fidelity.rungs.empty())
    scheduler_.emplace(fidelity.rungs, fidelity.eta, strategy.space());
}

train::EvalRequest Dispatcher::request(std::int64_t id, const Outstanding& entry) const {
  train::EvalRequest r;
  r.id = id;
  r.seed = train::evaluation_seed(run_seed_, id);
  r.genotype = entry.genotype;
  r.epochs = entry.epochs;
  r.from_epochs = entry.from_epochs;
  r.continues = entry.continues;
  return r;
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
  const auto& [entry, added] = outstanding_.emplace(id, next_evaluation());
  return request(id, entry->second);
}

Outstanding Dispatcher::next_evaluation() {
  if (!scheduler_) {
    Outstanding entry = propose();
    entry.epochs = epochs_;
    return entry;
  }
  const std::vector<int>& rungs = scheduler_->rungs();
  if (auto promotion = scheduler_->promote()) {
    Outstanding entry;
    entry.genotype = std::move(promotion->genotype);
    entry.epochs = rungs[static_cast<std::size_t>(promotion->rung)];
    entry.from_epochs = rungs[static_cast<std::size_t>(promotion->rung - 1)];
    entry.continues = promotion->from;
    return entry;
  }
  Outstanding entry = propose();
  entry.epochs = rungs.front();
  return entry;
}

Outstanding Dispatcher::propose() {
  if (!prefilter_.score)
    return {strategy_.propose()};
  std::vector<Outstanding> drawn;
  std::size_t best = 0;
  for (int i = 0; i < std::max(1, prefilter_.candidates); ++i) {
    space::Architecture genotype = strategy_.propose();
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
    result.epochs = it->second.epochs;
    result.continues = it->second.continues;
    outstanding_.erase(it);
  }
  owed_.erase(std::remove(owed_.begin(), owed_.end(), result.id), owed_.end());
  if (scheduler_) {
    const std::vector<int>& rungs = scheduler_->rungs();
    const auto rung = std::find(rungs.begin(), rungs.end(), result.epochs);
    if (rung != rungs.end())
      scheduler_->record(result.id, result.genotype, static_cast<int>(rung - rungs.begin()),
                         result.reward, result.status == train::EvalStatus::kOk);
  }
  if (result.continues < 0)
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
  return {next_id_,
          recorded_,
          outstanding_,
          {owed_.begin(), owed_.end()},
          strategy_.save_state(),
          scheduler_ ? scheduler_->save_state() : std::string()};
}

void Dispatcher::restore(const DispatchState& state) {
  next_id_ = state.next_id;
  recorded_ = state.recorded;
  outstanding_ = state.outstanding;
  owed_.assign(state.owed.begin(), state.owed.end());
  strategy_.load_state(state.strategy_state);
  if (scheduler_)
    scheduler_->load_state(state.scheduler_state);
}

} // namespace hpcnas::search
