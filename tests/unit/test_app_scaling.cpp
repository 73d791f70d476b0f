#include <catch2/catch.hpp>

#include <sstream>

#include "hpcnas/app/scaling.hpp"

using hpcnas::app::measure_search;
using hpcnas::app::print_scaling;
using hpcnas::app::relate_rows;
using hpcnas::app::ScalingRow;
using hpcnas::store::EvaluationRow;
using hpcnas::store::StoreError;

namespace {

/// `rows` evaluations spread over a span of `span` seconds (rank 0's clock), with rank 0 spending
/// `busy` seconds in all, half in the strategy and half in HDF5.
std::vector<EvaluationRow> table(int rows, double span, double busy) {
  std::vector<EvaluationRow> t(static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    EvaluationRow& row = t[static_cast<std::size_t>(i)];
    row.result.id = i;
    row.timing.dispatched = 100.0 + span * i / rows;
    row.timing.received = 100.0 + span * (i + 1) / rows;
    row.timing.strategy_seconds = busy / (2 * rows);
    row.timing.store_seconds = busy / (2 * rows);
  }
  return t;
}

} // namespace

TEST_CASE("a search run's throughput and controller share come from rank 0's clock", "[app]") {
  // 36 evaluations in 60 s: 2160 per hour; rank 0 busy 3 s of 60.
  const ScalingRow row = measure_search(table(36, 60.0, 3.0), 5, 2);
  CHECK(row.kind == "search");
  CHECK(row.ranks == 5);
  CHECK(row.nodes == 2);
  CHECK(row.workers == 4);
  CHECK(row.throughput == Approx(2160.0));
  REQUIRE(row.controller_busy.has_value());
  CHECK(*row.controller_busy == Approx(0.05));
  CHECK_FALSE(row.allreduce_share.has_value());
  // With one rank, rank 0 trains: one worker.
  CHECK(measure_search(table(4, 10.0, 0.0), 1, 1).workers == 1);
  CHECK_THROWS_AS(measure_search({}, 2, 1), StoreError);
}

TEST_CASE("speed-up and efficiency are against the run with fewest workers of its kind",
          "[app]") {
  std::vector<ScalingRow> rows(4);
  rows[0].workers = 4, rows[0].throughput = 300; // listed first, not the smallest
  rows[1].workers = 1, rows[1].throughput = 100;
  rows[2].workers = 16, rows[2].throughput = 800;
  rows[3].kind = "darts", rows[3].workers = 2, rows[3].throughput = 5;
  relate_rows(rows);
  CHECK(rows[1].speedup == Approx(1.0));
  CHECK(rows[1].efficiency == Approx(1.0));
  CHECK(rows[0].speedup == Approx(3.0));
  CHECK(rows[0].efficiency == Approx(0.75));
  CHECK(rows[2].speedup == Approx(8.0));
  CHECK(rows[2].efficiency == Approx(0.5));
  CHECK(rows[3].speedup == Approx(1.0)); // the only darts run is its own reference
}

TEST_CASE("the CSV has the documented header and leaves numbers that do not apply empty",
          "[app]") {
  std::vector<ScalingRow> rows(1);
  rows[0].file = "a.h5";
  rows[0].ranks = 3, rows[0].workers = 2, rows[0].throughput = 1234.5;
  rows[0].controller_busy = 0.25;
  std::ostringstream out;
  print_scaling(out, rows, true);
  CHECK(out.str() == "file,kind,ranks,nodes,workers,throughput,throughput_unit,speedup,efficiency,"
                     "controller_busy,allreduce_share\n"
                     "a.h5,search,3,1,2,1234.5,evaluations/h,1,1,0.25,\n");
}
