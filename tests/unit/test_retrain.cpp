// The final training: hashed augmentation and drop-path, and a saved state that resumes the
// identical trajectory.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "../../src/retrain/augment.hpp"
#include "hpcnas/comm/collective.hpp"
#include "hpcnas/retrain/final_training.hpp"

using namespace hpcnas;

namespace {

config::FinalTrainConfig tiny_config() {
  config::FinalTrainConfig cfg;
  cfg.data.dataset = "synthetic";
  cfg.data.train_subset = 64;
  cfg.network.channels = 4;
  cfg.network.layers = 3;
  cfg.batch_size = 8;
  cfg.epochs = 2;
  cfg.cutout = 6;
  cfg.crop_padding = 2;
  cfg.drop_path = 0.3;
  cfg.threads = 1;
  cfg.seed = 3;
  return cfg;
}

std::vector<std::uint64_t> keys(int n, int epoch) {
  std::vector<std::uint64_t> k;
  for (int i = 0; i < n; ++i)
    k.push_back(retrain::image_key(7, epoch, 0, i));
  return k;
}

} // namespace

TEST_CASE("augmentation without crop, flip or cutout is the identity", "[retrain]") {
  const auto images = torch::randn({5, 3, 8, 8});
  const auto out = retrain::augment(images, keys(5, 0), retrain::AugmentOptions{});
  CHECK(torch::equal(out, images));
}

TEST_CASE("flip mirrors some images and leaves the others", "[retrain]") {
  retrain::AugmentOptions options;
  options.flip = true;
  const auto images = torch::randn({64, 1, 6, 6});
  const auto out = retrain::augment(images, keys(64, 1), options);
  int flipped = 0;
  for (int i = 0; i < 64; ++i) {
    const bool same = torch::equal(out[i], images[i]);
    const bool mirrored = torch::equal(out[i], images[i].flip({2}));
    REQUIRE(same != mirrored);
    flipped += mirrored ? 1 : 0;
  }
  CHECK(flipped > 16);
  CHECK(flipped < 48);
}

TEST_CASE("crop shifts within the padding and fills with black; cutout zeroes a square",
          "[retrain]") {
  retrain::AugmentOptions options;
  options.crop_padding = 2;
  options.black = {-1.5f};
  const auto images = torch::rand({32, 1, 10, 10}) + 1; // all pixels in [1, 2)
  const auto cropped = retrain::augment(images, keys(32, 2), options);
  // Black appears only in border strips of at most 2 rows and 2 columns.
  const auto black = cropped.eq(-1.5f);
  CHECK(black.any().item<bool>());
  CHECK(black.sum(3).max().item<std::int64_t>() <= 10);
  CHECK(black.slice(2, 2, 8).slice(3, 2, 8).any().item<bool>() == false);
  // Same keys, same result: nothing depends on a generator.
  CHECK(torch::equal(cropped, retrain::augment(images, keys(32, 2), options)));

  retrain::AugmentOptions cut;
  cut.cutout = 4;
  const auto holes = retrain::augment(images, keys(32, 3), cut).eq(0).sum({1, 2, 3});
  CHECK(holes.max().item<std::int64_t>() == 16);
  CHECK(holes.min().item<std::int64_t>() >= 4); // a square clipped at a corner keeps 2x2
}

TEST_CASE("drop-path keeps a path with probability 1 - p and rescales it", "[retrain]") {
  const auto keep = retrain::drop_path_keep(keys(500, 4), 3, 8, 0.25);
  REQUIRE(keep.sizes() == torch::IntArrayRef({3, 8, 500}));
  const auto dropped = keep.eq(0).to(torch::kFloat64).mean().item<double>();
  CHECK(dropped == Approx(0.25).margin(0.02));
  CHECK(keep.eq(0).logical_or(keep.eq(1.0f / 0.75f)).all().item<bool>());
  CHECK_FALSE(retrain::drop_path_keep(keys(5, 4), 3, 8, 0.0).defined());
}

TEST_CASE("a saved final training resumes the identical trajectory", "[retrain]") {
  const auto cfg = tiny_config();
  const auto genotype = space::darts_v2();
  comm::SoloCollective solo;
  retrain::FinalTraining straight(cfg, genotype, solo);
  straight.run_steps(5);

  retrain::FinalTraining first(cfg, genotype, solo);
  first.run_steps(2);
  const auto state = first.save_state();
  first.run_steps(1); // moves on: the saved state must not share its tensors
  retrain::FinalTraining second(cfg, genotype, solo);
  second.resume(state);
  CHECK(second.position().step == 2);
  second.run_steps(3);
  CHECK(second.flat_weights() == straight.flat_weights());

  retrain::FinalTraining other(cfg, genotype, solo);
  CHECK(other.flat_weights() != straight.flat_weights()); // the check can fail
}

TEST_CASE("a state of another network is refused", "[retrain]") {
  auto cfg = tiny_config();
  comm::SoloCollective solo;
  retrain::FinalTraining small(cfg, space::darts_v2(), solo);
  cfg.network.channels = 6;
  retrain::FinalTraining large(cfg, space::darts_v2(), solo);
  CHECK_THROWS_WITH(large.resume(small.save_state()), Catch::Contains("parameters"));
}
