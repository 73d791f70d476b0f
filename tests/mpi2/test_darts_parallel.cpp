// DARTS data-parallel at exactly 2 ranks: the equivalence of 2 ranks with global batch B and
// one rank accumulating 2 half-batches (image cells and a recurrent cell), and an end-to-end run
// that writes the run file.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <cmath>
#include <filesystem>

#include "../unit/temp_dir.hpp"
#include "hpcnas/app/cli.hpp"
#include "hpcnas/comm/collective.hpp"
#include "hpcnas/darts/search.hpp"
#include "hpcnas/store/darts_file.hpp"

using namespace hpcnas;

namespace {

config::DartsConfig tiny_config(int order) {
  config::DartsConfig cfg;
  cfg.data.dataset = "synthetic";
  cfg.data.val_size = 200;
  cfg.data.train_subset = 48;
  cfg.data.val_subset = 24;
  cfg.network.channels = 4;
  cfg.network.layers = 3;
  cfg.batch_size = 8;
  cfg.epochs = 1;
  cfg.steps_per_epoch = 3;
  cfg.threads = 1;
  cfg.order = order;
  cfg.seed = 5;
  return cfg;
}

double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

/// One epoch of `cfg` at 2 ranks against one rank accumulating 2 half-batches, for both orders:
/// the same weights and alpha, and alpha moved.
void check_equals_accumulating(config::DartsConfig cfg, const comm::MpiContext& ctx) {
  REQUIRE(ctx.size() == 2);
  for (const int order : {1, 2}) {
    cfg.order = order;
    cfg.accumulate = 1;
    auto mpi = comm::make_mpi_collective();
    darts::DartsSearch parallel(cfg, *mpi);
    const auto record = parallel.run_epoch(0);
    const auto weights = parallel.flat_weights();
    const auto alphas = parallel.flat_alphas();
    if (ctx.rank() == 0) {
      cfg.accumulate = 2;
      comm::SoloCollective solo;
      darts::DartsSearch single(cfg, solo);
      single.run_epoch(0);
      INFO("order " << order << ", " << record.genotype.to_string());
      CHECK(relative_difference(single.flat_weights(), weights) < 1e-5);
      CHECK(relative_difference(single.flat_alphas(), alphas) < 1e-5);
      // The comparison means something: alpha moved away from its start.
      darts::DartsSearch untrained(cfg, solo);
      CHECK(relative_difference(untrained.flat_alphas(), alphas) > 1e-3);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
}

} // namespace

TEST_CASE("2 ranks with batch B equal 1 rank accumulating 2 half-batches", "[mpi][darts]") {
  comm::MpiContext ctx(nullptr, nullptr);
  check_equals_accumulating(tiny_config(1), ctx);
}

TEST_CASE("a recurrent cell's search at 2 ranks equals 1 rank accumulating 2 half-batches",
          "[mpi][darts]") {
  comm::MpiContext ctx(nullptr, nullptr);
  TextFolder folder; // each rank writes the same texts into a folder of its own
  folder.write_two_topics();
  config::DartsConfig cfg;
  cfg.space = "rnn";
  cfg.data.dataset = "text-folder";
  cfg.data.data_dir = folder.str();
  cfg.network.rnn_nodes = 3;
  cfg.network.embedding = 6;
  cfg.network.hidden = 5;
  cfg.learning_rate = 1;
  cfg.arch_learning_rate = 3e-3;
  cfg.batch_size = 8;
  cfg.steps_per_epoch = 3;
  cfg.threads = 1;
  cfg.seed = 9;
  check_equals_accumulating(cfg, ctx);
}

TEST_CASE("a DARTS run on synthetic data writes alpha history and genotypes", "[mpi][darts]") {
  comm::MpiContext ctx(nullptr, nullptr);
  const std::string out = "darts_run_np2.h5";
  const std::vector<std::string> args{
      "--dataset",  "synthetic", "--val-size", "200", "--train-subset", "64", "--val-subset", "32",
      "--channels", "4",         "--layers",   "3",   "--batch-size",   "16", "--epochs",     "2",
      "--threads",  "1",         "--out",      out,   "--overwrite"};
  REQUIRE(app::run_darts(ctx, config::parse_darts(args), "test_darts_parallel") == app::kExitOk);
  if (ctx.rank() == 0) {
    const auto history = store::read_darts(out);
    REQUIRE(history.epochs.size() == 2);
    CHECK_FALSE(history.alphas.recurrent);
    CHECK(history.alphas.edges == 14);
    CHECK(history.alphas.ops == 8);
    for (const auto& row : history.epochs) {
      CHECK(row.steps == 4);
      CHECK(row.alpha_normal.size() == 14 * 8);
      CHECK(row.alpha_reduce.size() == 14 * 8);
      CHECK_NOTHROW(row.genotype.image().validate());
      CHECK(row.val_accuracy >= 0);
      CHECK(row.val_accuracy <= 1);
      CHECK(std::isfinite(row.train_loss));
      CHECK(std::isfinite(row.val_loss));
      CHECK(row.epoch_seconds > 0);
      CHECK(row.normal_skip_connections >= 0);
    }
    CHECK(history.epochs[0].alpha_normal != history.epochs[1].alpha_normal);
    CHECK(history.epochs[1].learning_rate < history.epochs[0].learning_rate);
    CHECK(store::read_root_attribute(out, "config.epochs") == "2");
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST_CASE("bad DARTS input ends on every rank with exit 2 and leaves no run file", "[mpi][darts]") {
  comm::MpiContext ctx(nullptr, nullptr);
  const std::string out = "darts_bad_np2.h5";
  std::filesystem::remove(out);
  // A missing data folder fails on every rank; a batch smaller than ranks x accumulate too.
  CHECK(app::run_darts(ctx,
                       config::parse_darts({"--data-dir", "/nonexistent/hpcnas", "--out", out}),
                       "test") == app::kExitBadInput);
  CHECK(
      app::run_darts(ctx,
                     config::parse_darts({"--dataset", "synthetic", "--val-size", "200",
                                          "--batch-size", "2", "--accumulate", "2", "--out", out}),
                     "test") == app::kExitBadInput);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK_FALSE(std::filesystem::exists(out));
}
