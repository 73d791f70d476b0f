// Checkpoint and resume of the DARTS search: a search stopped in the middle of an epoch and
// resumed from its saved state continues the identical trajectory.
#include <catch2/catch.hpp>

#include <vector>

#include "hpcnas/comm/collective.hpp"
#include "hpcnas/darts/search.hpp"

using namespace hpcnas;

namespace {

config::DartsConfig tiny_config(int order) {
  config::DartsConfig cfg;
  cfg.data.dataset = "synthetic";
  cfg.data.val_size = 100;
  cfg.data.train_subset = 64;
  cfg.data.val_subset = 16;
  cfg.network.channels = 4;
  cfg.network.layers = 3;
  cfg.batch_size = 8;
  cfg.epochs = 2;
  cfg.steps_per_epoch = 4;
  cfg.threads = 1;
  cfg.order = order;
  cfg.seed = 3;
  return cfg;
}

/// Hooks that collect the epoch records and, from the `stop_at`-th stop poll on, ask to stop;
/// a checkpoint saves the state into `saved`.
struct Recording {
  std::vector<darts::EpochRecord> records;
  std::vector<char> saved;
  int polls = 0;

  darts::RunHooks hooks(darts::DartsSearch& search, int stop_at) {
    darts::RunHooks h;
    h.on_epoch = [this](const darts::EpochRecord& r) {
      records.push_back(r);
      return true;
    };
    h.checkpoint = [this, &search](darts::SearchPosition) { saved = search.save_state(); };
    h.stop_requested = [this, stop_at] { return stop_at > 0 && ++polls >= stop_at; };
    return h;
  }
};

} // namespace

TEST_CASE("a DARTS search stopped within an epoch resumes on the identical trajectory",
          "[darts][resume]") {
  for (const int order : {1, 2}) {
    INFO("order " << order);
    const auto cfg = tiny_config(order);
    comm::SoloCollective solo;

    darts::DartsSearch uninterrupted(cfg, solo);
    Recording reference;
    REQUIRE(uninterrupted.run(reference.hooks(uninterrupted, 0)) == darts::RunEnd::kCompleted);
    REQUIRE(reference.records.size() == 2);

    // Polls: after steps 1-3 of epoch 0, after epoch 0, after step 1 of epoch 1: stop there.
    darts::DartsSearch stopped(cfg, solo);
    Recording first;
    REQUIRE(stopped.run(first.hooks(stopped, 5)) == darts::RunEnd::kStopped);
    CHECK(stopped.position().epoch == 1);
    CHECK(stopped.position().step == 1);
    REQUIRE(first.records.size() == 1);
    REQUIRE_FALSE(first.saved.empty());

    darts::DartsSearch resumed(cfg, solo);
    resumed.resume(first.saved);
    CHECK(resumed.position().epoch == 1);
    CHECK(resumed.position().step == 1);
    Recording second;
    REQUIRE(resumed.run(second.hooks(resumed, 0)) == darts::RunEnd::kCompleted);
    REQUIRE(second.records.size() == 1);

    // Bit for bit: weights, alpha, and the epoch the stop cut in two.
    CHECK(resumed.flat_weights() == uninterrupted.flat_weights());
    CHECK(resumed.flat_alphas() == uninterrupted.flat_alphas());
    const auto& whole = reference.records[1];
    const auto& joined = second.records[0];
    CHECK(joined.alpha_normal == whole.alpha_normal);
    CHECK(joined.alpha_reduce == whole.alpha_reduce);
    CHECK(joined.genotype.to_string() == whole.genotype.to_string());
    CHECK(joined.val_loss == whole.val_loss);
    CHECK(joined.train_loss == Approx(whole.train_loss).epsilon(1e-12));
    CHECK(joined.train_accuracy == Approx(whole.train_accuracy).epsilon(1e-12));
    CHECK(joined.steps == whole.steps);
    // The comparison means something: the resumed epoch moved alpha.
    CHECK(joined.alpha_normal != reference.records[0].alpha_normal);
  }
}

TEST_CASE("a DARTS search that ended early stays ended when resumed", "[darts][resume]") {
  const auto cfg = tiny_config(1);
  comm::SoloCollective solo;
  darts::DartsSearch search(cfg, solo);
  std::vector<char> saved;
  darts::RunHooks hooks;
  hooks.on_epoch = [](const darts::EpochRecord&) { return false; };
  hooks.checkpoint = [&](darts::SearchPosition) { saved = search.save_state(); };
  REQUIRE(search.run(hooks) == darts::RunEnd::kEnded);

  darts::DartsSearch resumed(cfg, solo);
  resumed.resume(saved);
  int epochs = 0;
  hooks.on_epoch = [&](const darts::EpochRecord&) { return ++epochs > 0; };
  CHECK(resumed.run(hooks) == darts::RunEnd::kAlreadyEnded);
  CHECK(epochs == 0);
}

TEST_CASE("a DARTS state does not load into a supernet of another size", "[darts][resume]") {
  comm::SoloCollective solo;
  darts::DartsSearch small(tiny_config(1), solo);
  auto cfg = tiny_config(1);
  cfg.network.channels = 8;
  darts::DartsSearch larger(cfg, solo);
  CHECK_THROWS_WITH(larger.resume(small.save_state()), Catch::Contains("other --channels"));
  darts::DartsSearch fresh(cfg, solo);
  CHECK_THROWS_WITH(fresh.resume({'n', 'o', 't'}), Catch::Contains("cannot read the DARTS state"));
}
