#pragma once
/// `hpcnas report --scaling`: the numbers of a scaling study, one row per run file.

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "hpcnas/store/run_file.hpp"

namespace hpcnas::app {

struct ScalingRow {
  std::string file;
  std::string kind = "search"; ///< "search" or "darts"
  int ranks = 1;
  int nodes = 1;
  int workers = 1;             ///< ranks that train: trainers (search), all ranks (darts)
  double throughput = 0;       ///< evaluations per hour (search) or steps per second (darts)
  double speedup = 1;          ///< throughput over that of the same kind's run with fewest workers
  double efficiency = 1;       ///< speedup over the ratio of workers
  /// search: rank 0's time in the strategy and in HDF5, as a share of the run's span.
  std::optional<double> controller_busy;
  /// darts: the allreduce's share of the step time.
  std::optional<double> allreduce_share;
};

/// Seconds from rank 0's first dispatch to its last receipt (0 without rows); a resumed run
/// includes the time it was stopped.
double search_span_seconds(const std::vector<store::EvaluationRow>& rows);

/// A search run: its span runs from rank 0's first dispatch to its last receipt.
ScalingRow measure_search(const std::vector<store::EvaluationRow>& rows, int ranks, int nodes);

/// Sets speedup and efficiency of every row against the row of its kind with fewest workers.
void relate_rows(std::vector<ScalingRow>& rows);

/// Reads every run file (search or darts) and relates the rows. Throws StoreError on a file
/// that is not a run file of this schema or has no rows.
std::vector<ScalingRow> read_scaling(const std::vector<std::string>& files);

/// Prints a markdown table, or CSV with the header
/// file,kind,ranks,nodes,workers,throughput,throughput_unit,speedup,efficiency,controller_busy,
/// allreduce_share (empty fields where a number does not apply).
void print_scaling(std::ostream& out, const std::vector<ScalingRow>& rows, bool csv);

} // namespace hpcnas::app
