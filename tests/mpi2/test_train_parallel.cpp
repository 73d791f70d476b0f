// The final training data-parallel at exactly 2 ranks: 2 ranks with global batch B take the same
// steps as 1 rank accumulating the same 2 half-batches, with augmentation, cutout, drop-path and
// the auxiliary head on.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <cmath>

#include "hpcnas/comm/collective.hpp"
#include "hpcnas/comm/mpi_context.hpp"
#include "hpcnas/retrain/final_training.hpp"

using namespace hpcnas;

TEST_CASE("train: 2 ranks with batch B equal 1 rank accumulating 2 half-batches", "[mpi][train]") {
  comm::MpiContext ctx(nullptr, nullptr);
  REQUIRE(ctx.size() == 2);
  config::FinalTrainConfig cfg;
  cfg.data.dataset = "synthetic";
  cfg.data.train_subset = 96;
  cfg.network.channels = 4;
  cfg.network.layers = 3;
  cfg.batch_size = 16;
  cfg.epochs = 2;
  cfg.cutout = 6;
  cfg.crop_padding = 2;
  cfg.drop_path = 0.3;
  cfg.auxiliary_weight = 0.4;
  cfg.threads = 1;
  cfg.seed = 9;
  const auto genotype = space::darts_v2();
  auto mpi = comm::make_mpi_collective();
  retrain::FinalTraining parallel(cfg, genotype, *mpi);
  parallel.run_steps(4);
  const auto weights = parallel.flat_weights();
  if (ctx.rank() == 0) {
    cfg.accumulate = 2;
    comm::SoloCollective solo;
    retrain::FinalTraining single(cfg, genotype, solo);
    single.run_steps(4);
    const auto reference = single.flat_weights();
    REQUIRE(weights.size() == reference.size());
    double diff = 0, norm = 0, moved = 0;
    retrain::FinalTraining start(cfg, genotype, solo);
    const auto initial = start.flat_weights();
    for (std::size_t i = 0; i < weights.size(); ++i) {
      diff += (weights[i] - reference[i]) * (weights[i] - reference[i]);
      norm += reference[i] * reference[i];
      moved += (initial[i] - reference[i]) * (initial[i] - reference[i]);
    }
    CHECK(std::sqrt(diff / norm) < 1e-5);
    CHECK(std::sqrt(moved / norm) > 1e-3); // the steps changed the weights
  }
  MPI_Barrier(MPI_COMM_WORLD);
}
