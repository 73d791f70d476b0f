// The search pool end to end on every rank of the world this test runs in (2, 3 or 4 ranks):
// rank 0 checks the run file, and a failed check on any rank fails the test.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/store/run_file.hpp"

using namespace hpcnas;

namespace {

int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

/// A run-file name unique to this test and world size, so ctest may run the np variants at once.
std::string out_path(const std::string& name) {
  return "pool_" + name + "_np" + std::to_string(world_size()) + ".h5";
}

int search_with(const comm::MpiContext& ctx, std::vector<std::string> args) {
  return app::run_search(ctx, config::parse_search(args), "test_search_pool");
}

/// What every completed run file must satisfy.
void check_run_file(const comm::MpiContext& ctx, const std::string& path, int budget) {
  if (!ctx.is_controller())
    return;
  const auto rows = store::read_evaluations(path);
  REQUIRE(rows.size() == static_cast<std::size_t>(budget));
  std::set<std::int64_t> ids;
  std::set<std::int32_t> ranks;
  for (const auto& row : rows) {
    ids.insert(row.result.id);
    ranks.insert(row.result.rank);
    CHECK(std::isfinite(row.result.reward));
    CHECK(row.result.finished >= row.result.started);
  }
  CHECK(ids.size() == static_cast<std::size_t>(budget));
  CHECK(*ids.begin() == 0);
  CHECK(*ids.rbegin() == budget - 1);
  for (int trainer = 1; trainer < ctx.size(); ++trainer)
    CHECK(ranks.count(trainer) == 1);
  CHECK(ranks.count(0) == (ctx.size() == 1 ? 1u : 0u));
}

} // namespace

TEST_CASE("surrogate search records exactly budget rows from every trainer", "[mpi][pool]") {
  comm::MpiContext ctx(nullptr, nullptr);
  const std::string out = out_path("surrogate");
  const int budget = 5 * ctx.trainer_count() + 1;
  REQUIRE(search_with(ctx, {"--evaluator", "surrogate", "--surrogate-seconds", "0.02", "--budget",
                            std::to_string(budget), "--out", out, "--overwrite"}) == app::kExitOk);
  check_run_file(ctx, out, budget);
  if (ctx.is_controller()) {
    for (const auto& row : store::read_evaluations(out))
      CHECK(row.result.status == train::EvalStatus::kOk);
    CHECK(store::read_root_attribute(out, "config.budget") == std::to_string(budget));
  }
}

TEST_CASE("real training on synthetic data", "[mpi][pool]") {
  comm::MpiContext ctx(nullptr, nullptr);
  const std::string out = out_path("synthetic");
  const int budget = ctx.trainer_count() + 2;
  REQUIRE(search_with(ctx, {"--dataset",
                            "synthetic",
                            "--val-size",
                            "300",
                            "--train-subset",
                            "600",
                            "--channels",
                            "4",
                            "--layers",
                            "3",
                            "--epochs",
                            "1",
                            "--batch-size",
                            "32",
                            "--threads",
                            "1",
                            "--latency-repeats",
                            "2",
                            "--budget",
                            std::to_string(budget),
                            "--out",
                            out,
                            "--overwrite"}) == app::kExitOk);
  check_run_file(ctx, out, budget);
  if (ctx.is_controller()) {
    for (const auto& row : store::read_evaluations(out)) {
      CHECK(row.result.status == train::EvalStatus::kOk);
      CHECK(row.result.params > 0);
      CHECK(row.result.flops > 0);
      CHECK(row.result.latency_ms > 0);
      CHECK(row.result.val_accuracy > 0.1); // above chance (10 classes) after one epoch
    }
  }
}

TEST_CASE("a child forced to fail is recorded and the run completes", "[mpi][pool]") {
  comm::MpiContext ctx(nullptr, nullptr);
  const std::string out = out_path("failure");
  const int budget = 2 * ctx.trainer_count() + 2;
  REQUIRE(search_with(ctx, {"--evaluator", "surrogate", "--budget", std::to_string(budget),
                            "--fail-ids", "1", "--out", out, "--overwrite"}) == app::kExitOk);
  check_run_file(ctx, out, budget);
  if (ctx.is_controller()) {
    for (const auto& row : store::read_evaluations(out)) {
      const train::EvalResult& r = row.result;
      if (r.id == 1) {
        CHECK(r.status == train::EvalStatus::kError);
        CHECK(r.reward == 0.0);
        CHECK_THAT(r.message, Catch::Contains("forced failure"));
      } else {
        CHECK(r.status == train::EvalStatus::kOk);
      }
    }
  }
}

TEST_CASE("bad data or an existing run file: exit 2 on every rank, no file left", "[mpi][pool]") {
  comm::MpiContext ctx(nullptr, nullptr);
  const std::string out = out_path("bad");
  if (ctx.is_controller())
    std::filesystem::remove(out);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(search_with(ctx, {"--dataset", "mnist", "--data-dir", "/nonexistent-hpcnas-data", "--out",
                          out}) == app::kExitBadInput);
  if (ctx.is_controller())
    CHECK_FALSE(std::filesystem::exists(out));

  const std::string existing = out_path("existing");
  REQUIRE(search_with(ctx, {"--evaluator", "surrogate", "--budget", "1", "--out", existing,
                            "--overwrite"}) == app::kExitOk);
  CHECK(search_with(ctx, {"--evaluator", "surrogate", "--budget", "1", "--out", existing}) ==
        app::kExitBadInput);
  if (ctx.is_controller())
    CHECK(store::read_evaluations(existing).size() == 1);
}

TEST_CASE("rl, evolution, qlearning and hybrid complete a surrogate run; rl and hybrid write "
          "/controller",
          "[mpi][pool]") {
  comm::MpiContext ctx(nullptr, nullptr);
  for (const std::string strategy : {"rl", "evolution", "qlearning", "hybrid"}) {
    const std::string out = out_path("strategy_" + strategy);
    const int budget = 4 * ctx.trainer_count() + 12;
    REQUIRE(search_with(ctx, {"--strategy", strategy, "--evaluator", "surrogate", "--budget",
                              std::to_string(budget), "--rl-batch", "5", "--population", "8",
                              "--sample", "3", "--out", out, "--overwrite"}) == app::kExitOk);
    check_run_file(ctx, out, budget);
    if (ctx.is_controller()) {
      const auto updates = store::read_controller(out);
      if (strategy == "rl" || strategy == "hybrid") {
        if (strategy == "rl") {
          CHECK(updates.size() == static_cast<std::size_t>(budget / 5));
        } else { // one update per mutated child; the first 8 (more with more trainers) are random
          CHECK(updates.size() <= static_cast<std::size_t>(budget - 8));
          CHECK(updates.size() >=
                static_cast<std::size_t>(budget - std::max(8, ctx.trainer_count())));
        }
        for (std::size_t u = 0; u < updates.size(); ++u) {
          CHECK(updates[u].update == static_cast<std::int64_t>(u));
          CHECK(std::isfinite(updates[u].loss));
          CHECK(std::isfinite(updates[u].grad_norm));
        }
      } else {
        CHECK(updates.empty());
      }
    }
  }
}
