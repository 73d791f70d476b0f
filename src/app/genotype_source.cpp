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
  return {space::Genotype::parse(last.genotype),
          "epoch " + std::to_string(last.epoch + 1) + " of the DARTS search " + run, seconds};
}

PickedGenotype from_search(const std::string& run, const std::string& pick) {
  const auto table = store::read_evaluations(run);
  std::size_t chosen = table.rows();
  if (pick == "best") {
    for (std::size_t r = 0; r < table.rows(); ++r)
      if (table.status[r] == "ok" &&
          (chosen == table.rows() || table.reward[r] > table.reward[chosen]))
        chosen = r;
    if (chosen == table.rows())
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
    const auto it = std::find(table.id.begin(), table.id.end(), id);
    if (it == table.id.end())
      throw config::ConfigError("--pick " + pick + ": " + run + " has no evaluation " + pick);
    chosen = static_cast<std::size_t>(it - table.id.begin());
  }
  // Wall time of the search: its first start to its last finish (a resumed search counts the
  // time it was stopped too).
  double first = table.started.empty() ? 0 : table.started.front();
  double last = first;
  for (std::size_t r = 0; r < table.rows(); ++r) {
    first = std::min(first, table.started[r]);
    last = std::max(last, table.finished[r]);
  }
  return {space::Genotype::parse(table.genotype[chosen]),
          "evaluation " + std::to_string(table.id[chosen]) + " of " + run + " (reward " +
              format_reward(table.reward[chosen]) + ")",
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
