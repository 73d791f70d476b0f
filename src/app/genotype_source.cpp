#include "hpcnas/app/genotype_source.hpp"

#include <algorithm>
#include <cstdio>

#include "hpcnas/config/options.hpp"
#include "hpcnas/store/darts_file.hpp"
#include "hpcnas/store/run_file.hpp"
#include "hpcnas/store/train_file.hpp"

namespace hpcnas::app {

namespace {

std::string format_reward(double reward) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", reward);
  return text;
}

PickedGenotype from_darts(const std::string& run) {
  const auto history = store::read_darts(run);
  if (history.epochs.empty())
    throw store::StoreError("--from " + run + ": the DARTS search has no finished epoch");
  double seconds = 0;
  for (const auto& e : history.epochs)
    seconds += e.epoch_seconds;
  const auto& last = history.epochs.back();
  return {last.genotype, "epoch " + std::to_string(last.epoch + 1) + " of the DARTS search " + run,
          seconds};
}

PickedGenotype from_search(const std::string& run, const std::string& pick) {
  const auto rows = store::read_evaluations(run);
  auto chosen = rows.end();
  if (pick == "best") {
    for (auto row = rows.begin(); row != rows.end(); ++row)
      if (row->result.status == train::EvalStatus::kOk &&
          (chosen == rows.end() || row->result.reward > chosen->result.reward))
        chosen = row;
    if (chosen == rows.end())
      throw store::StoreError("--from " + run + ": no successful evaluation to pick");
  } else {
    std::int64_t id = -1;
    try {
      std::size_t used = 0;
      id = std::stoll(pick, &used);
      if (used != pick.size())
        id = -1;
    } catch (const std::exception&) {
    }
    if (id < 0)
      throw config::ConfigError("--pick must be 'best' or an evaluation id (got '" + pick + "')");
    chosen = std::find_if(rows.begin(), rows.end(),
                          [id](const store::EvaluationRow& row) { return row.result.id == id; });
    if (chosen == rows.end())
      throw config::ConfigError("--pick " + pick + ": " + run + " has no evaluation " + pick);
  }
  // Wall time of the search: its first start to its last finish (a resumed search counts the
  // time it was stopped too).
  double first = rows.front().result.started;
  double last = first;
  for (const auto& row : rows) {
    first = std::min(first, row.result.started);
    last = std::max(last, row.result.finished);
  }
  const train::EvalResult& picked = chosen->result;
  return {picked.genotype,
          "evaluation " + std::to_string(picked.id) + " of " + run + " (reward " +
              format_reward(picked.reward) + ")",
          last - first};
}

} // namespace

PickedGenotype pick_genotype(const std::string& run, const std::string& pick) {
  const std::string kind = store::read_run_kind(run);
  if (kind == "darts")
    return from_darts(run);
  if (kind == "search")
    return from_search(run, pick);
  throw store::StoreError("--from " + run + ": a " + kind +
                          " run file holds no search result (give a search or darts run file)");
}

} // namespace hpcnas::app
