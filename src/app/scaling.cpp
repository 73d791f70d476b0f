#include "hpcnas/app/scaling.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <ostream>

#include "hpcnas/store/darts_file.hpp"

namespace hpcnas::app {

double search_span_seconds(const std::vector<store::EvaluationRow>& rows) {
  if (rows.empty())
    return 0;
  double first = rows.front().timing.dispatched, last = rows.front().timing.received;
  for (const auto& row : rows) {
    first = std::min(first, row.timing.dispatched);
    last = std::max(last, row.timing.received);
  }
  return last - first;
}

ScalingRow measure_search(const std::vector<store::EvaluationRow>& rows, int ranks, int nodes) {
  if (rows.empty())
    throw store::StoreError("no evaluations recorded");
  double rank0_busy = 0;
  for (const auto& row : rows)
    rank0_busy += row.timing.strategy_seconds + row.timing.store_seconds;
  const double span = std::max(search_span_seconds(rows), 1e-9);

  ScalingRow row;
  row.ranks = ranks;
  row.nodes = nodes;
  row.workers = ranks > 1 ? ranks - 1 : 1;
  row.throughput = 3600.0 * static_cast<double>(rows.size()) / span;
  row.controller_busy = rank0_busy / span;
  return row;
}

void relate_rows(std::vector<ScalingRow>& rows) {
  std::map<std::string, ScalingRow> base; // per kind, the run with fewest workers
  for (const auto& row : rows) {
    const auto found = base.find(row.kind);
    if (found == base.end() || row.workers < found->second.workers)
      base[row.kind] = row;
  }
  for (auto& row : rows) {
    const ScalingRow& b = base.at(row.kind);
    row.speedup = row.throughput / b.throughput;
    row.efficiency = row.speedup * b.workers / row.workers;
  }
}

namespace {

ScalingRow measure_darts(const std::string& path, int ranks, int nodes) {
  const store::DartsHistory history = store::read_darts(path);
  if (history.epochs.empty())
    throw store::StoreError("no epochs recorded");
  double steps = 0, step_seconds = 0, allreduce_seconds = 0;
  for (const auto& epoch : history.epochs) {
    steps += static_cast<double>(epoch.steps);
    step_seconds += epoch.step_seconds;
    allreduce_seconds += epoch.allreduce_seconds;
  }
  step_seconds = std::max(step_seconds, 1e-9);
  ScalingRow row;
  row.kind = "darts";
  row.ranks = ranks;
  row.nodes = nodes;
  row.workers = ranks;
  row.throughput = steps / step_seconds;
  row.allreduce_share = allreduce_seconds / step_seconds;
  return row;
}

std::string optional_text(const std::optional<double>& value, const char* format) {
  if (!value)
    return "";
  char text[32];
  std::snprintf(text, sizeof text, format, *value);
  return text;
}

} // namespace

std::vector<ScalingRow> read_scaling(const std::vector<std::string>& files) {
  std::vector<ScalingRow> rows;
  for (const auto& path : files) {
    try {
      store::verify_readable(path);
      const int ranks = store::read_root_int_attribute(path, "ranks");
      const int nodes = store::read_root_int_attribute(path, "nodes");
      const bool darts = store::has_root_attribute(path, "kind") &&
                         store::read_root_attribute(path, "kind") == "darts";
      ScalingRow row = darts ? measure_darts(path, ranks, nodes)
                             : measure_search(store::read_evaluations(path), ranks, nodes);
      row.file = path;
      rows.push_back(std::move(row));
    } catch (const store::StoreError& e) {
      const std::string what = e.what();
      throw store::StoreError(what.find(path) == std::string::npos ? path + ": " + what : what);
    }
  }
  relate_rows(rows);
  return rows;
}

void print_scaling(std::ostream& out, const std::vector<ScalingRow>& rows, bool csv) {
  char line[512];
  if (csv) {
    out << "file,kind,ranks,nodes,workers,throughput,throughput_unit,speedup,efficiency,"
           "controller_busy,allreduce_share\n";
    for (const auto& r : rows) {
      std::snprintf(line, sizeof line, "%s,%s,%d,%d,%d,%.6g,%s,%.6g,%.6g,%s,%s\n", r.file.c_str(),
                    r.kind.c_str(), r.ranks, r.nodes, r.workers, r.throughput,
                    r.kind == "darts" ? "steps/s" : "evaluations/h", r.speedup, r.efficiency,
                    optional_text(r.controller_busy, "%.6g").c_str(),
                    optional_text(r.allreduce_share, "%.6g").c_str());
      out << line;
    }
    return;
  }
  out << "| run file | kind | ranks | nodes | workers | throughput | speed-up | efficiency "
         "| controller busy | allreduce share |\n"
         "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& r : rows) {
    char throughput[64];
    if (r.kind == "darts")
      std::snprintf(throughput, sizeof throughput, "%.4g steps/s", r.throughput);
    else
      std::snprintf(throughput, sizeof throughput, "%.1f evaluations/h", r.throughput);
    std::snprintf(line, sizeof line, "| %s | %s | %d | %d | %d | %s | %.2f | %.1f %% | %s | %s |\n",
                  r.file.c_str(), r.kind.c_str(), r.ranks, r.nodes, r.workers, throughput,
                  r.speedup, 100 * r.efficiency,
                  optional_text(r.controller_busy ? std::optional(100 * *r.controller_busy)
                                                  : std::nullopt,
                                "%.2f %%")
                      .c_str(),
                  optional_text(r.allreduce_share ? std::optional(100 * *r.allreduce_share)
                                                  : std::nullopt,
                                "%.1f %%")
                      .c_str());
    out << line;
  }
}

} // namespace hpcnas::app
